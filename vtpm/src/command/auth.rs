//! The authorization area (Part 1, section 19): session parsing, password authorization
//! (`TPM_RS_PW`), and the response session area.

use crate::engine::{Platform, Tpm};
use crate::entity::{bad_password, entity_auth};
use tpm_proto::command::{AuthRole, CommandDesc};
use tpm_proto::{Handle, Rc, Reader, TpmaSession, TpmsAuthCommand, Unmarshal, WriteError, Writer};

/// At most three sessions per command (`MAX_SESSION_NUM`).
pub(crate) const MAX_SESSIONS: usize = 3;

/// The sessions of one command.
#[derive(Debug)]
pub(crate) struct Sessions<'c> {
    list: [Option<TpmsAuthCommand<'c>>; MAX_SESSIONS],
    count: usize,
}

impl<'c> Sessions<'c> {
    pub fn none() -> Sessions<'c> {
        Sessions {
            list: [None; MAX_SESSIONS],
            count: 0,
        }
    }

    /// Parses the authorization area (reference `RetrieveSessionData`).
    pub fn parse(mut area: Reader<'c>) -> Result<Sessions<'c>, Rc> {
        let mut s = Sessions::none();
        while !area.is_empty() {
            let i = s.count;
            if i == MAX_SESSIONS {
                return Err(Rc::Size.session(i as u32 + 1));
            }
            let n = i as u32 + 1;
            let a = TpmsAuthCommand::unmarshal(&mut area).map_err(|rc| rc.session(n))?;
            if a.session_handle == Handle::Pw {
                // A password session may only have continueSession set, and no nonce.
                if a.attributes.intersects(!TpmaSession::CONTINUE_SESSION) {
                    return Err(Rc::Attributes.session(n));
                }
                if !a.nonce.is_empty() {
                    return Err(Rc::Nonce.session(n));
                }
            } else {
                // HMAC and policy sessions are not loaded in this engine yet.
                return Err(Rc::reference_session(i as u32));
            }
            s.list[i] = Some(a);
            s.count += 1;
        }
        Ok(s)
    }

    /// Checks that every handle needing authorization has a session and that each session
    /// authorizes its handle (reference `ParseSessionBuffer`, `CheckAuthNoSession`).
    pub fn authorize<P: Platform>(
        &self,
        tpm: &mut Tpm<P>,
        desc: &CommandDesc,
        handles: &[Handle; 3],
        _locality: u8,
    ) -> Result<(), Rc> {
        let needed = desc.auth_handles();
        if self.count < needed {
            return Err(Rc::AuthMissing);
        }
        for (i, s) in self.list.iter().take(self.count).enumerate() {
            let n = i as u32 + 1;
            let Some(s) = s else { continue };
            let associated = match (handles.get(i), desc.handles.get(i)) {
                (Some(h), Some((_, role))) if i < needed => Some((*h, *role)),
                _ => None,
            };
            if s.session_handle == Handle::Pw {
                let Some((h, role)) = associated else {
                    // A password session must authorize a handle.
                    return Err(Rc::Handle.session(n));
                };
                if role != AuthRole::User && role != AuthRole::Admin {
                    return Err(Rc::AuthType.session(n));
                }
                let auth = entity_auth(tpm, h, role).ok_or(Rc::AuthUnavailable)?;
                if !auth.matches(s.hmac.0) {
                    return Err(bad_password(tpm, h).session(n));
                }
            }
        }
        Ok(())
    }

    /// Writes one `TPMS_AUTH_RESPONSE` per session. For a password session: empty nonce,
    /// continueSession set, empty hmac.
    pub fn write_responses(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        for s in self.list.iter().take(self.count) {
            if s.is_some() {
                w.u16(0)?;
                w.u8(TpmaSession::CONTINUE_SESSION.bits())?;
                w.u16(0)?;
            }
        }
        Ok(())
    }
}

//! Context-blob encoding of an object's state (inside the encrypted, integrity-protected part of
//! a `TPMS_CONTEXT`, see `crate::context`). Only this engine reads it back, after the blob's
//! integrity has been verified; still, every field is checked as it is read.

use super::validate::{key_material, KeyMaterialIn};
use super::{LoadedKey, Object, Parentage, Sensitive, Sequence, SequenceKind};
use crate::crypto::resumable::ResumableHash;
use crate::entity::Name;
use crate::secret::AuthValue;
use tpm_proto::{
    Handle, Marshal, Rc, Reader, Tpm2bAuth, TpmaObject, TpmtPublic, UnmarshalNullable, WriteError,
    Writer,
};

const SEQ_HASH: u8 = 1;
const SEQ_EVENT: u8 = 2;
const SEQ_HMAC: u8 = 3;
const KEY: u8 = 4;

impl Object {
    pub fn marshal_context(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        match self {
            Object::Sequence(s) => {
                match &s.kind {
                    SequenceKind::Hash(h) => {
                        w.u8(SEQ_HASH)?;
                        h.marshal(w)?;
                    }
                    SequenceKind::Event(hs) => {
                        w.u8(SEQ_EVENT)?;
                        hs.iter().try_for_each(|h| h.marshal(w))?;
                    }
                    SequenceKind::Hmac { inner, outer_key } => {
                        w.u8(SEQ_HMAC)?;
                        inner.marshal(w)?;
                        w.sized(outer_key)?;
                    }
                }
                w.sized(s.auth.as_bytes())?;
                w.u8(s.first_block as u8)?;
                w.u8(s.ticket_safe as u8)
            }
            Object::Key(k) => {
                w.u8(KEY)?;
                w.sized(k.public_bytes())?;
                w.u32(k.hierarchy.0)?;
                w.u8(k.external as u8)?;
                w.sized(k.qualified_name.as_bytes())?;
                match &k.sensitive {
                    None => w.u8(0),
                    Some(s) => {
                        w.u8(1)?;
                        w.sized(s.auth.as_bytes())?;
                        w.sized(&s.seed_value)?;
                        w.sized(&s.key.composite())
                    }
                }
            }
        }
    }

    pub fn unmarshal_context(r: &mut Reader<'_>) -> Result<Object, Rc> {
        let kind = match r.u8()? {
            SEQ_HASH => SequenceKind::Hash(ResumableHash::unmarshal(r)?),
            SEQ_EVENT => SequenceKind::Event([
                ResumableHash::unmarshal(r)?,
                ResumableHash::unmarshal(r)?,
                ResumableHash::unmarshal(r)?,
                ResumableHash::unmarshal(r)?,
            ]),
            SEQ_HMAC => SequenceKind::Hmac {
                inner: ResumableHash::unmarshal(r)?,
                outer_key: sized(r)?.to_vec().into(),
            },
            KEY => return unmarshal_key(r),
            _ => return Err(Rc::Value),
        };
        let auth: Tpm2bAuth<'_> = r.read()?;
        let auth = AuthValue::new(auth.0).ok_or(Rc::Size)?;
        let first_block = r.u8()? != 0;
        let ticket_safe = r.u8()? != 0;
        Ok(Object::Sequence(Sequence {
            kind,
            auth,
            first_block,
            ticket_safe,
        }))
    }

    /// The `savedHandle` of this object's context (reference `TPM2_ContextSave`): 0x80000000 for
    /// an ordinary object, 0x80000001 for a sequence, 0x80000002 for an object with `stClear`.
    pub fn saved_handle(&self) -> Handle {
        match self {
            Object::Sequence(_) => Handle(0x8000_0001),
            Object::Key(k) if k.has(TpmaObject::ST_CLEAR) => Handle(0x8000_0002),
            Object::Key(_) => Handle(0x8000_0000),
        }
    }

    /// The hierarchy the object belongs to (`TPM_RH_NULL` for sequences).
    pub fn hierarchy(&self) -> Handle {
        match self {
            Object::Sequence(_) => Handle::Null,
            Object::Key(k) => k.hierarchy,
        }
    }
}

fn sized<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], Rc> {
    let n = usize::from(r.u16()?);
    r.bytes(n)
}

fn unmarshal_key(r: &mut Reader<'_>) -> Result<Object, Rc> {
    let public = sized(r)?;
    let hierarchy = Handle(r.u32()?);
    let external = r.u8()? != 0;
    let qn = sized(r)?;
    let sensitive = match r.u8()? {
        0 => None,
        1 => {
            let auth = AuthValue::new(sized(r)?).ok_or(Rc::Size)?;
            let seed = sized(r)?;
            let composite = sized(r)?;
            let area = TpmtPublic::unmarshal_nullable(&mut Reader::new(public), true)?;
            let k = match area.type_() {
                tpm_proto::TpmiAlgPublic::Rsa => KeyMaterialIn::Rsa(composite),
                tpm_proto::TpmiAlgPublic::Ecc => KeyMaterialIn::Ecc(composite),
                tpm_proto::TpmiAlgPublic::KeyedHash => KeyMaterialIn::Bits {
                    key: composite,
                    seed,
                },
                tpm_proto::TpmiAlgPublic::SymCipher => KeyMaterialIn::Sym {
                    key: composite,
                    seed,
                },
            };
            Some(Sensitive {
                auth,
                seed_value: seed.to_vec().into(),
                key: key_material(&area, &k)?,
            })
        }
        _ => return Err(Rc::Value),
    };
    let mut key = LoadedKey::new(public, sensitive, Parentage::External(hierarchy))?;
    key.external = external;
    key.qualified_name = Name::from_bytes(qn).ok_or(Rc::Size)?;
    Ok(Object::Key(key))
}

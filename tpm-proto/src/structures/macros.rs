/// Defines a `TPM2B_*` that borrows its buffer: `u16` size then that many bytes, at most `max`.
/// A larger size is `TPM_RC_SIZE`, a short buffer `TPM_RC_INSUFFICIENT` (reference
/// `TPM2B_*_Unmarshal`).
macro_rules! tpm2b {
    ($(#[$m:meta])* $name:ident, max = $max:expr) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
        pub struct $name<'a>(pub &'a [u8]);

        impl<'a> $name<'a> {
            /// Largest size the spec allows (`sizeof` the buffer in the reference).
            pub const MAX: usize = $max;

            pub fn len(&self) -> usize {
                self.0.len()
            }

            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl<'a> $crate::marshal::Unmarshal<'a> for $name<'a> {
            fn unmarshal(r: &mut $crate::marshal::Reader<'a>) -> Result<Self, $crate::rc::Rc> {
                let size = r.u16()? as usize;
                if size > Self::MAX {
                    return Err($crate::rc::Rc::Size);
                }
                Ok($name(r.bytes(size)?))
            }
        }

        impl $crate::marshal::Marshal for $name<'_> {
            fn marshal(
                &self,
                w: &mut $crate::marshal::Writer<'_>,
            ) -> Result<(), $crate::marshal::WriteError> {
                w.sized(self.0)
            }
        }
    };
}

//! `TPML_*`: a `u32` count followed by that many elements (Part 2, section 10.9), held inline in
//! a fixed-capacity array so that no allocation is needed.

use crate::marshal::{Marshal, Reader, Unmarshal, WriteError, Writer};
use crate::rc::Rc;

/// A `TPML_*` of at most `MAX` elements; unmarshalling also requires at least `MIN`. A count
/// outside `MIN..=MAX` is `TPM_RC_SIZE`, checked before any element is read, as in the reference
/// `TPML_*_Unmarshal`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct List<T, const MAX: usize, const MIN: usize = 0> {
    len: usize,
    items: [T; MAX],
}

impl<T: Copy + Default, const MAX: usize, const MIN: usize> Default for List<T, MAX, MIN> {
    fn default() -> Self {
        List {
            len: 0,
            items: [T::default(); MAX],
        }
    }
}

impl<T: Copy + Default, const MAX: usize, const MIN: usize> List<T, MAX, MIN> {
    /// Capacity (the `MAX_CAP_*` bound of the spec).
    pub const MAX: usize = MAX;

    pub fn new() -> Self {
        Self::default()
    }

    /// A list holding the first `MAX` elements of `items`.
    pub fn from_slice(items: &[T]) -> Self {
        let mut l = Self::default();
        for &i in items {
            if !l.push(i) {
                break;
            }
        }
        l
    }

    /// Appends an element; `false` if the list is full.
    pub fn push(&mut self, v: T) -> bool {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = v;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn is_full(&self) -> bool {
        self.len == MAX
    }

    pub fn as_slice(&self) -> &[T] {
        self.items.get(..self.len).unwrap_or_default()
    }

    pub fn iter(&self) -> core::slice::Iter<'_, T> {
        self.as_slice().iter()
    }

    /// Unmarshals without the `MIN` bound (for clients reading a response, where a
    /// `TPML_DIGEST` from `TPM2_PCR_Read` may hold fewer than two digests).
    pub fn unmarshal_any_count<'a>(r: &mut Reader<'a>) -> Result<Self, Rc>
    where
        T: Unmarshal<'a>,
    {
        Self::unmarshal_bounded(r, 0)
    }

    fn unmarshal_bounded<'a>(r: &mut Reader<'a>, min: usize) -> Result<Self, Rc>
    where
        T: Unmarshal<'a>,
    {
        let count = r.u32()?;
        let count = usize::try_from(count).map_err(|_| Rc::Size)?;
        if count < min || count > MAX {
            return Err(Rc::Size);
        }
        let mut out = Self::default();
        for slot in out.items.iter_mut().take(count) {
            *slot = r.read()?;
        }
        out.len = count;
        Ok(out)
    }
}

impl<'a, T, const MAX: usize, const MIN: usize> Unmarshal<'a> for List<T, MAX, MIN>
where
    T: Unmarshal<'a> + Copy + Default,
{
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Self::unmarshal_bounded(r, MIN)
    }
}

impl<T: Marshal + Copy + Default, const MAX: usize, const MIN: usize> Marshal
    for List<T, MAX, MIN>
{
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        let count = u32::try_from(self.len).map_err(|_| WriteError)?;
        w.u32(count)?;
        self.iter().try_for_each(|v| w.write(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Small = List<u16, 2, 1>;

    #[test]
    fn count_outside_bounds_is_size() {
        assert_eq!(
            Small::from_bytes(&[0, 0, 0, 3, 0, 1, 0, 2, 0, 3]),
            Err(Rc::Size)
        );
        assert_eq!(Small::from_bytes(&[0, 0, 0, 0]), Err(Rc::Size));
        assert_eq!(
            Small::unmarshal_any_count(&mut Reader::new(&[0, 0, 0, 0])),
            Ok(Small::new())
        );
        assert_eq!(Small::from_bytes(&[0xFF, 0xFF, 0xFF, 0xFF]), Err(Rc::Size));
    }

    #[test]
    fn truncated_element_is_insufficient() {
        assert_eq!(
            Small::from_bytes(&[0, 0, 0, 2, 0, 1, 0]),
            Err(Rc::Insufficient)
        );
    }

    #[test]
    fn push_stops_at_capacity() {
        let mut l = Small::new();
        assert!(l.push(1) && l.push(2) && !l.push(3));
        let mut buf = [0u8; 8];
        assert_eq!(l.to_bytes(&mut buf), Ok(8));
        assert_eq!(buf, [0, 0, 0, 2, 0, 1, 0, 2]);
    }
}

//! Cursor pagination: opaque cursors over time-ordered (UUID v7) ids.

use uuid::Uuid;

use crate::Error;

/// The largest page a caller may ask for.
pub const MAX_LIMIT: u64 = 100;
/// The page size when the caller does not say.
pub const DEFAULT_LIMIT: u64 = 25;

/// A page request: how many items, and after which item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u64,
    /// Continue after this id, in the order of the listing.
    pub cursor: Option<Uuid>,
}

impl PageRequest {
    pub fn parse(limit: Option<u64>, cursor: Option<&str>) -> Result<Self, Error> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::validation("invalid_limit", format!("`limit` must be between 1 and {MAX_LIMIT}")));
        }
        let cursor = cursor.map(decode_cursor).transpose()?;
        Ok(Self { limit, cursor })
    }
}

/// One page of items and the cursor of the next page, if there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched items: the extra item only proves a next page exists.
    pub fn from_overfetch(mut items: Vec<T>, limit: u64, id_of: impl Fn(&T) -> Uuid) -> Self {
        let has_more = items.len() as u64 > limit;
        items.truncate(limit as usize);
        let next_cursor = if has_more { items.last().map(|item| encode_cursor(id_of(item))) } else { None };
        Self { data: items, next_cursor }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { data: self.data.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

pub fn encode_cursor(id: Uuid) -> String {
    id.simple().to_string()
}

pub fn decode_cursor(cursor: &str) -> Result<Uuid, Error> {
    Uuid::try_parse(cursor)
        .map_err(|_| Error::validation("invalid_cursor", "`cursor` is not a cursor this API returned"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_above_the_maximum_is_rejected() {
        assert_eq!(PageRequest::parse(Some(101), None).err().map(|e| e.code()), Some("invalid_limit"));
        assert_eq!(PageRequest::parse(Some(0), None).err().map(|e| e.code()), Some("invalid_limit"));
    }

    #[test]
    fn cursor_round_trips() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)).ok(), Some(id));
    }

    #[test]
    fn garbage_cursor_is_rejected() {
        assert_eq!(PageRequest::parse(None, Some("xyz")).err().map(|e| e.code()), Some("invalid_cursor"));
    }

    #[test]
    fn overfetch_sets_the_cursor_to_the_last_item_kept() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let page = Page::from_overfetch(ids.clone(), 2, |id| *id);
        assert_eq!(page.data, ids[..2].to_vec());
        assert_eq!(page.next_cursor, Some(encode_cursor(ids[1])));
    }

    #[test]
    fn last_page_has_no_cursor() {
        let ids: Vec<Uuid> = (0..2).map(|_| Uuid::now_v7()).collect();
        assert_eq!(Page::from_overfetch(ids, 2, |id| *id).next_cursor, None);
    }
}

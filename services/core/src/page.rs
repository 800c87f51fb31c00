//! Cursor pagination: opaque cursors over time-ordered (UUID v7) ids, or over a sort key
//! and an id for listings ordered by something else (the latest change, the priority…).

use chrono::{DateTime, Utc};
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
    /// The sort key of that item, when the listing is ordered by something other than the
    /// id (see [`Page::from_overfetch_keyed`]).
    pub key: Option<SortKey>,
}

/// The sort key a keyed cursor carries: a number (a timestamp's microseconds, a rank, a
/// float's bits) or the empty value of a nullable key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Int(i64),
    Empty,
}

impl SortKey {
    pub fn from_time(at: DateTime<Utc>) -> Self {
        SortKey::Int(at.timestamp_micros())
    }

    pub fn from_float(value: f64) -> Self {
        SortKey::Int(value.to_bits() as i64)
    }

    /// A nullable key: `None` sorts as the empty value.
    pub fn from_option<T>(value: Option<T>, key: impl FnOnce(T) -> SortKey) -> Self {
        value.map_or(SortKey::Empty, key)
    }

    /// The timestamp of a key made by [`SortKey::from_time`]; `None` for the empty key.
    pub fn time(self) -> Result<Option<DateTime<Utc>>, Error> {
        match self {
            SortKey::Int(micros) => DateTime::from_timestamp_micros(micros).map(Some).ok_or_else(invalid_cursor),
            SortKey::Empty => Ok(None),
        }
    }

    /// The float of a key made by [`SortKey::from_float`]; `None` for the empty key.
    pub fn float(self) -> Result<Option<f64>, Error> {
        match self {
            SortKey::Int(bits) => {
                Some(f64::from_bits(bits as u64)).filter(|v| v.is_finite()).map(Some).ok_or_else(invalid_cursor)
            }
            SortKey::Empty => Ok(None),
        }
    }

    fn encode(self) -> String {
        match self {
            SortKey::Int(value) => value.to_string(),
            SortKey::Empty => EMPTY_KEY.to_owned(),
        }
    }

    fn decode(text: &str) -> Result<Self, Error> {
        if text == EMPTY_KEY {
            return Ok(SortKey::Empty);
        }
        text.parse().map(SortKey::Int).map_err(|_| invalid_cursor())
    }
}

/// How a cursor writes the empty sort key.
const EMPTY_KEY: &str = "n";

impl PageRequest {
    pub fn parse(limit: Option<u64>, cursor: Option<&str>) -> Result<Self, Error> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::validation("invalid_limit", format!("`limit` must be between 1 and {MAX_LIMIT}")));
        }
        let (cursor, key) = match cursor {
            None => (None, None),
            Some(text) => match text.split_once('_') {
                Some((key, id)) => (Some(decode_cursor(id)?), Some(SortKey::decode(key)?)),
                None => (Some(decode_cursor(text)?), None),
            },
        };
        Ok(Self { limit, cursor, key })
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
    pub fn from_overfetch(items: Vec<T>, limit: u64, id_of: impl Fn(&T) -> Uuid) -> Self {
        Self::overfetched(items, limit, |item| encode_cursor(id_of(item)))
    }

    /// Like [`Page::from_overfetch`], for a listing ordered by `(key, id)`: the cursor
    /// carries the last item's sort key, so the next page starts where this one ended even
    /// if that item changed meanwhile.
    pub fn from_overfetch_keyed(items: Vec<T>, limit: u64, key_of: impl Fn(&T) -> (SortKey, Uuid)) -> Self {
        Self::overfetched(items, limit, |item| {
            let (key, id) = key_of(item);
            format!("{}_{}", key.encode(), encode_cursor(id))
        })
    }

    /// Keeps `limit` items; the next page's cursor is the last kept item's, when there was more.
    fn overfetched(mut items: Vec<T>, limit: u64, cursor_of: impl Fn(&T) -> String) -> Self {
        let has_more = items.len() as u64 > limit;
        items.truncate(limit as usize);
        let next_cursor = if has_more { items.last().map(cursor_of) } else { None };
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
    Uuid::try_parse(cursor).map_err(|_| invalid_cursor())
}

fn invalid_cursor() -> Error {
    Error::validation("invalid_cursor", "`cursor` is not a cursor this API returned")
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
    fn keyed_cursors_round_trip_and_garbage_is_rejected() {
        let id = Uuid::now_v7();
        let at = DateTime::from_timestamp_micros(1_764_590_400_123_456).unwrap_or_default();
        let page = Page::from_overfetch_keyed(vec![1, 2], 1, |_| (SortKey::from_time(at), id));
        let request = PageRequest::parse(None, page.next_cursor.as_deref()).ok();
        assert_eq!(request.map(|r| (r.cursor, r.key.map(|k| k.time().ok()))), Some((Some(id), Some(Some(Some(at))))));
        for key in [SortKey::from_float(-0.625), SortKey::Empty, SortKey::Int(3)] {
            let page = Page::from_overfetch_keyed(vec![1, 2], 1, |_| (key, id));
            let request = PageRequest::parse(None, page.next_cursor.as_deref()).ok();
            assert_eq!(request.and_then(|r| r.key), Some(key));
        }
        assert_eq!(SortKey::from_float(-0.625).float().ok(), Some(Some(-0.625)));
        assert_eq!(SortKey::Empty.time().ok(), Some(None));
        for bad in ["abc_", "_x", "12_notauuid", "x_0192f0c45a5e70008000000000000001"] {
            assert_eq!(PageRequest::parse(None, Some(bad)).err().map(|e| e.code()), Some("invalid_cursor"), "{bad}");
        }
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

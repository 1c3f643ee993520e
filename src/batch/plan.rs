//! A batch's chat ids as the batch keeps them: one text holding every id as given, and for each
//! entry a byte (asked, a duplicate of an earlier entry, or refused) and the next duplicate of
//! the same id. About 30 bytes an entry beyond the ids' own text, where a `String`, a
//! normalised copy and a map entry per id cost ten times that: a batch of a million ids must
//! not cost more memory than its results.
//!
//! Normalised ids are not kept: they are worked out again when an entry is sent (a few hundred
//! nanoseconds, next to a network round trip), and a refusal's error when it is handed out.

use std::hash::{BuildHasher, RandomState};

use crate::error::Error;
use crate::validate::ChatId;

/// An entry sent to the service: the first of the entries equal after normalisation.
const JOB: u8 = 0;
/// An entry equal (after normalisation) to an earlier one, which answers it.
const DUP: u8 = 1;
/// An entry refused before sending.
const REFUSED: u8 = 2;
/// The end of a chain of duplicates.
const NONE: u32 = u32::MAX;

/// The ids of one batch, in the order given; see the module doc.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    text: String,
    /// Where each entry's id ends in `text` (it starts where the previous one ends).
    ends: Vec<usize>,
    kinds: Vec<u8>,
    /// For an entry sent or a duplicate: the next entry of the same id, or [`NONE`].
    next_dup: Vec<u32>,
}

impl Plan {
    /// The plan for `ids`: each checked and normalised as a single call does, the entries equal
    /// after normalisation chained to the first of them.
    pub(crate) fn new<I, S>(ids: I) -> Plan
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Plan::gather(ids).finish()
    }

    /// The ids kept, not looked at yet ([`Plan::finish`] does): a host can gather them while
    /// it holds a lock of its own, and plan without it.
    pub(crate) fn gather<I, S>(ids: I) -> Plan
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut plan = Plan::default();
        for id in ids {
            plan.text.push_str(id.as_ref());
            plan.ends.push(plan.text.len());
        }
        plan.text.shrink_to_fit();
        plan.ends.shrink_to_fit();
        plan
    }

    /// Refusals and duplicates found (see the module doc).
    pub(crate) fn finish(mut self) -> Plan {
        self.kinds = vec![JOB; self.ends.len()];
        self.next_dup = vec![NONE; self.ends.len()];
        self.find_duplicates();
        self
    }

    /// Marks refused entries and chains duplicates: entries sorted by the hash of their
    /// normalised id (16 bytes each, for the duration of planning), then compared within each
    /// run of equal hashes.
    fn find_duplicates(&mut self) {
        let hasher = RandomState::new();
        let mut keyed: Vec<(u64, u32)> = Vec::with_capacity(self.len());
        for i in 0..self.len() {
            match ChatId::parse(self.id(i)) {
                Ok(id) => keyed.push((hasher.hash_one(id.as_str()), i as u32)),
                Err(_) => self.kinds[i] = REFUSED,
            }
        }
        keyed.sort_unstable();
        let mut run = 0;
        while run < keyed.len() {
            let end = run + keyed[run..].partition_point(|k| k.0 == keyed[run].0);
            self.chain_equal(&keyed[run..end]);
            run = end;
        }
    }

    /// Within entries of one hash (in index order, nearly always one), chains each to the
    /// first entry equal to it.
    fn chain_equal(&mut self, same_hash: &[(u64, u32)]) {
        if same_hash.len() < 2 {
            return;
        }
        let normal: Vec<Option<ChatId<'static>>> = same_hash
            .iter()
            .map(|&(_, i)| {
                ChatId::parse(self.id(i as usize))
                    .map(ChatId::into_owned)
                    .ok()
            })
            .collect();
        let mut grouped = vec![false; same_hash.len()];
        for a in 0..same_hash.len() {
            if grouped[a] {
                continue;
            }
            let mut tail = same_hash[a].1;
            for b in a + 1..same_hash.len() {
                if !grouped[b] && normal[b] == normal[a] {
                    grouped[b] = true;
                    let dup = same_hash[b].1;
                    self.kinds[dup as usize] = DUP;
                    self.next_dup[tail as usize] = dup;
                    tail = dup;
                }
            }
        }
    }

    /// How many entries.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Entry `i`'s chat id as given.
    pub(crate) fn id(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    /// The first entry at or after `from` that is sent to the service.
    pub(crate) fn next_job(&self, from: usize) -> Option<usize> {
        self.kinds
            .get(from..)?
            .iter()
            .position(|&k| k == JOB)
            .map(|p| from + p)
    }

    /// The first refused entry at or after `from`, with its error.
    pub(crate) fn next_refused(&self, from: usize) -> Option<(usize, Error)> {
        let i = from + self.kinds.get(from..)?.iter().position(|&k| k == REFUSED)?;
        let e = ChatId::parse(self.id(i)).err()?;
        Some((i, e))
    }

    /// The duplicate after `i` of the same id.
    pub(crate) fn next_dup(&self, i: usize) -> Option<usize> {
        match self.next_dup.get(i) {
            Some(&d) if d != NONE => Some(d as usize),
            _ => None,
        }
    }

    /// Entry `i`'s id, normalised; `None` for a refused entry.
    pub(crate) fn chat_id(&self, i: usize) -> Option<ChatId<'_>> {
        ChatId::parse(self.id(i)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_and_duplicates() {
        let ids = [
            "79001234567",
            "",
            "79001234567@c.us",
            "1@g.us",
            "79001234567",
            "bad id",
        ];
        let p = Plan::new(ids);
        assert_eq!(p.len(), 6);
        assert_eq!(p.id(2), "79001234567@c.us");
        assert_eq!(p.next_job(0), Some(0));
        assert_eq!(p.next_job(1), Some(3));
        assert_eq!(p.next_job(4), None);
        assert_eq!(p.next_dup(0), Some(2));
        assert_eq!(p.next_dup(2), Some(4));
        assert_eq!(p.next_dup(4), None);
        assert_eq!(p.next_dup(3), None);
        assert_eq!(p.next_refused(0).map(|r| r.0), Some(1));
        assert_eq!(p.next_refused(2).map(|r| r.0), Some(5));
        assert!(p.next_refused(6).is_none());
        assert_eq!(p.chat_id(0).unwrap().as_str(), "79001234567@c.us");
    }
}

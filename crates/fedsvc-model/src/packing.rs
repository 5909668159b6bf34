//! Keeping large maps small: a `BTreeMap` filled one insertion at a time is far from full.
//!
//! A B-tree node holds up to eleven entries. Insertions in ascending order (a listing, a
//! watch's first page) leave every node split at six, a little over half full; insertions in
//! no order leave them about two thirds full. A map filled by iterating a sorted source at
//! once is built with full nodes. [`repack`] rebuilds a map that way, in place, so that a map
//! of hundreds of thousands of entries built piecemeal costs what one built at once does.

use std::collections::BTreeMap;

/// Rebuilds `map` with full nodes, keeping every entry.
///
/// The entries move from the old nodes to the new ones in one ordered pass, and each old node
/// is freed as soon as it is empty, so the map is never held twice. Worth calling after a
/// map of many entries was filled one at a time (at start, after a relisting); a map that
/// then changes here and there stays close to full.
///
/// ```
/// use std::collections::BTreeMap;
/// let mut map: BTreeMap<u32, u32> = BTreeMap::new();
/// for i in 0..1000 {
///     map.insert(i, i * 2);
/// }
/// fedsvc_model::repack(&mut map);
/// assert_eq!(map.len(), 1000);
/// assert_eq!(map.get(&500), Some(&1000));
/// assert!(map.keys().copied().eq(0..1000));
/// ```
pub fn repack<K: Ord, V>(map: &mut BTreeMap<K, V>) {
    let Some((key, value)) = map.pop_first() else {
        return;
    };
    // `append` into a map that is not empty merges both maps' entries, in order, into new
    // nodes filled to capacity, and frees the old ones as it goes.
    let mut packed = BTreeMap::new();
    packed.insert(key, value);
    packed.append(map);
    *map = packed;
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn repacking_keeps_every_entry(
            entries in proptest::collection::vec((any::<u16>(), any::<u8>()), 0..300)
        ) {
            let mut map: BTreeMap<u16, u8> = entries.into_iter().collect();
            let before: Vec<(u16, u8)> = map.iter().map(|(k, v)| (*k, *v)).collect();
            repack(&mut map);
            let after: Vec<(u16, u8)> = map.iter().map(|(k, v)| (*k, *v)).collect();
            prop_assert_eq!(&after, &before);
            // Still a working map: every key is found, and removing one removes it.
            prop_assert!(before.iter().all(|(k, v)| map.get(k) == Some(v)));
            if let Some((k, _)) = before.get(before.len() / 2) {
                prop_assert!(map.remove(k).is_some());
                prop_assert_eq!(map.len(), before.len() - 1);
            }
        }
    }
}

//! `repack` frees memory: measured with a counting allocator (this test binary's own).

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; only sizes are counted.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's layout is passed on as it is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

#[test]
fn a_map_filled_in_order_shrinks_by_a_third_when_repacked() {
    let mut map: BTreeMap<u64, [u64; 8]> = BTreeMap::new();
    let start = LIVE.load(Ordering::Relaxed);
    for i in 0..100_000u64 {
        map.insert(i, [i; 8]);
    }
    let filled = LIVE.load(Ordering::Relaxed) - start;
    fedsvc_model::repack(&mut map);
    let packed = LIVE.load(Ordering::Relaxed) - start;
    assert_eq!(map.len(), 100_000);
    assert!(map.iter().all(|(k, v)| v[0] == *k));
    // Nodes split at six of eleven entries when filled in order; full after repacking.
    assert!(
        packed * 3 < filled * 2,
        "filled one at a time: {filled} bytes; repacked: {packed} bytes"
    );
}

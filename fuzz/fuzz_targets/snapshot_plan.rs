//! Snapshot text (YAML or JSON) → validated snapshot → plan → diff against an empty zone →
//! apply → resolve a few names. Checks the invariants that must hold for any input.
#![no_main]

use fedsvc_dns_plan::{Registry, apply_changes, diff, plan, resolve, try_apply_changes};
use fedsvc_model::{RecordType, Snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(validated) = Snapshot::from_text(text) else {
        return;
    };
    let snapshot = validated.snapshot;
    let Ok(p) = plan(&snapshot) else {
        return;
    };
    // Sorted by name then type, and no CNAME beside other data.
    for w in p.records.windows(2) {
        assert!((w[0].name(), w[0].rtype()) < (w[1].name(), w[1].rtype()));
        if w[0].name() == w[1].name() {
            assert!(w[0].rtype() != &RecordType::Cname && w[1].rtype() != &RecordType::Cname);
        }
    }
    let registry = Registry::txt(snapshot.federation.clone());
    let changes = diff(&[], &p.records, &registry);
    assert!(changes.conflicts.is_empty());
    let zone = try_apply_changes(&[], &changes).expect("an empty zone accepts the plan");
    assert_eq!(zone, apply_changes(&[], &changes));
    assert!(diff(&zone, &p.records, &registry).is_empty());
    for rs in p.records.iter().take(8) {
        let r = resolve(&zone, rs.name(), &RecordType::A);
        let _ = r.addresses();
    }
});

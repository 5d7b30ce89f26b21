//! Compile-fail (UI) tests of the macros: each file in `tests/ui/` must fail to compile with
//! exactly the diagnostic in its `.stderr` snapshot, and each file in `tests/ui-pass/` must compile.
//!
//! Regenerate the snapshots after an intended change to a message with
//! `TRYBUILD=overwrite cargo test -p mcp-rbac-tests --test ui`, then read every `.stderr`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui-pass/*.rs");
}

//! The committed completions and man pages match what the clap definitions
//! generate. `LLMLB_REGENERATE=1 cargo test --test generated` rewrites them.

use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn completions_and_man_pages_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("LLMLB_REGENERATE").is_some() {
        for dir in ["completions", "man"] {
            let _ = std::fs::remove_dir_all(root.join(dir));
        }
        llmlb::ctl::generate::write_all(root).unwrap();
        return;
    }
    let files = llmlb::ctl::generate::files();
    let mut stale = Vec::new();
    for (rel, bytes) in &files {
        match std::fs::read(root.join(rel)) {
            Ok(committed) if &committed == bytes => {}
            Ok(_) => stale.push(format!("{rel} differs")),
            Err(_) => stale.push(format!("{rel} is missing")),
        }
    }
    // No leftovers of commands that no longer exist.
    let expected: BTreeSet<&str> = files.iter().map(|(r, _)| r.as_str()).collect();
    for dir in ["completions", "man"] {
        for entry in std::fs::read_dir(root.join(dir)).into_iter().flatten() {
            let rel = format!("{dir}/{}", entry.unwrap().file_name().to_string_lossy());
            if !expected.contains(rel.as_str()) {
                stale.push(format!("{rel} is not generated any more"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "completions/ and man/ drifted from the clap definitions; run \
         `LLMLB_REGENERATE=1 cargo test --test generated` and commit:\n  {}",
        stale.join("\n  ")
    );
}

#[test]
fn every_binary_and_ctl_subcommand_has_a_man_page_and_completions() {
    let files: BTreeSet<String> = llmlb::ctl::generate::files()
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    for page in [
        "man/llmlbd.1",
        "man/llmlbctl.1",
        "man/llmlbctl-nodes-approve.1",
        "man/llmlbctl-migrate-json.1",
        "man/llmlbctl-api-keys-create.1",
        "completions/llmlbctl.bash",
        "completions/_llmlbctl",
        "completions/llmlbctl.fish",
        "completions/llmlbctl.elv",
        "completions/_llmlbctl.ps1",
        "completions/llmlbd.bash",
        "man/llmlb-node.1",
        "completions/llmlb-node.fish",
    ] {
        assert!(files.contains(page), "{page} is not generated: {files:?}");
    }
    let man = llmlb::ctl::generate::files()
        .into_iter()
        .find(|(r, _)| r == "man/llmlbctl.1")
        .unwrap()
        .1;
    let man = String::from_utf8(man).unwrap();
    assert!(
        man.contains("Exit status"),
        "the man page documents exit codes"
    );
}

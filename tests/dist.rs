//! The systemd units we ship say what the README promises.

use std::path::Path;

fn unit(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("dist/systemd")
            .join(name),
    )
    .unwrap()
}

#[test]
fn both_units_are_notify_services_with_state_and_restart() {
    for (name, binary, state) in [
        ("llmlbd.service", "llmlbd", "llmlb"),
        ("llmlb-node.service", "llmlb-node", "llmlb-node"),
    ] {
        let u = unit(name);
        for line in [
            "Type=notify".to_string(),
            format!("ExecStart=/usr/local/bin/{binary}"),
            format!("StateDirectory={state}"),
            "DynamicUser=yes".to_string(),
            "Restart=on-failure".to_string(),
            "NoNewPrivileges=yes".to_string(),
            "ProtectSystem=strict".to_string(),
            "WatchdogSec=".to_string(),
        ] {
            assert!(
                u.lines().any(|l| l.starts_with(&line)),
                "{name} lacks {line}"
            );
        }
    }
}

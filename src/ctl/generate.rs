//! Shell completions and man pages, generated from the clap definitions of
//! every binary. The committed copies in `completions/` and `man/` are
//! checked for drift by a test (`LLMLB_REGENERATE=1 cargo test --test
//! generated` rewrites them).

use std::path::Path;

use clap::CommandFactory;
use clap_complete::{Generator, Shell};

use super::args::CtlArgs;
use crate::daemon::config::DaemonArgs;
use crate::node::NodeArgs;

/// The clap command of each binary.
pub(crate) fn commands() -> Vec<clap::Command> {
    vec![
        DaemonArgs::command(),
        CtlArgs::command(),
        NodeArgs::command(),
    ]
}

pub(crate) const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::Elvish,
    Shell::PowerShell,
];

/// Prints `llmlbctl`'s completion script for `shell`.
pub(crate) fn print_completions(shell: Shell) {
    let mut cmd = CtlArgs::command();
    clap_complete::generate(shell, &mut cmd, "llmlbctl", &mut std::io::stdout());
}

/// Every generated file: (path relative to the repository, contents).
pub fn files() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for mut cmd in commands() {
        let name = cmd.get_name().to_string();
        for shell in SHELLS {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, name.clone(), &mut buf);
            let file = shell.file_name(&name);
            out.push((format!("completions/{file}"), buf));
        }
        cmd.build();
        man_pages(&cmd, &name, &mut out);
    }
    out
}

/// A page for the command and one for each subcommand, named like git's
/// (`llmlbctl-nodes-approve.1`).
fn man_pages(cmd: &clap::Command, name: &str, out: &mut Vec<(String, Vec<u8>)>) {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone().name(name.to_string()))
        .render(&mut buf)
        .expect("rendering to memory cannot fail");
    out.push((format!("man/{name}.1"), buf));
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let sub_name = format!("{name}-{}", sub.get_name());
        man_pages(sub, &sub_name, out);
    }
}

/// Writes every generated file below `root`.
pub fn write_all(root: &Path) -> std::io::Result<()> {
    for (rel, bytes) in files() {
        let path = root.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, bytes)?;
    }
    Ok(())
}

//! The real `llmlb-node` agent as a child process, its stderr collected.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running `llmlb-node` (built by `agent_cmd_named`), killed when dropped.
pub struct TestAgent {
    child: Option<Child>,
    logs: Arc<Mutex<Vec<String>>>,
    state_dir: PathBuf,
}

impl TestAgent {
    /// Spawns `cmd` (its stderr piped) with its state in `state_dir`.
    pub fn start(cmd: &mut Command, state_dir: &Path) -> TestAgent {
        let mut child = cmd.spawn().expect("spawn llmlb-node");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let stderr = child.stderr.take().expect("stderr is piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        TestAgent {
            child: Some(child),
            logs,
            state_dir: state_dir.to_path_buf(),
        }
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// The state file the agent keeps, once it has registered.
    pub fn state(&self) -> Option<Value> {
        let text = std::fs::read_to_string(self.state_dir.join("node.json")).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// SIGTERM, then the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let child = self.child.as_ref()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        self.exit_code(Duration::from_secs(10))
    }

    /// Waits for the agent to exit; its exit code.
    pub fn exit_code(&mut self, within: Duration) -> Option<i32> {
        let mut child = self.child.take()?;
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(s) = child.try_wait().unwrap() {
                // Let the reader thread take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        panic!("llmlb-node did not exit:\n{}", self.logs());
    }
}

impl Drop for TestAgent {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

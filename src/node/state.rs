//! The agent's state file: its node id and runtime token, written atomically
//! with mode 0600 so a crash never leaves half a file and no other user can
//! read the token.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::common::fsutil::write_private;
use crate::secret::Secret;

pub(crate) const STATE_FILE: &str = "node.json";

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct NodeState {
    /// The daemon this state belongs to: a different --lb-url starts afresh.
    pub lb_url: String,
    pub node_id: String,
    pub runtime_token: String,
    /// The token before the last rotation: if the daemon refuses the new
    /// one while the old one is still within its grace period, the agent
    /// goes back to it instead of registering again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_token: Option<String>,
}

impl fmt::Debug for NodeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeState")
            .field("lb_url", &self.lb_url)
            .field("node_id", &self.node_id)
            .field("runtime_token", &"<redacted>")
            .field(
                "previous_token",
                &self.previous_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl NodeState {
    pub(crate) fn token(&self) -> Secret {
        Secret::new(self.runtime_token.clone())
    }
}

pub(crate) struct StateFile {
    path: PathBuf,
}

impl StateFile {
    pub(crate) fn new(dir: &Path) -> StateFile {
        StateFile {
            path: dir.join(STATE_FILE),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The saved state, if there is a readable one. A damaged file is
    /// reported and treated as absent (the agent registers again).
    pub(crate) fn load(&self) -> Option<NodeState> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(file = %self.path.display(), error = %e, "cannot read the state file; registering afresh");
                return None;
            }
        };
        match serde_json::from_str(&text) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(file = %self.path.display(), error = %e, "the state file is damaged; registering afresh");
                None
            }
        }
    }

    pub(crate) fn save(&self, state: &NodeState) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(state).expect("state serializes");
        write_private(&self.path, &bytes)
    }
}

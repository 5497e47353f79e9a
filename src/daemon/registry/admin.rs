//! An administrator's changes of a node besides approval: edit, drain,
//! remove. Each is checked and committed under the store lock, then applied
//! in memory.

use super::fleet::LiveNode;
use super::{Registry, RegistryError};
use crate::api::nodes::NodeView;
use crate::daemon::audit::Actor;
use crate::daemon::validate::ValidPatch;
use crate::store::audit::{self as audit_store, AuditRow};
use crate::store::nodes::{self as node_store, NodeRecord};

impl Registry {
    /// Runs an admin change of one node: checks and modifies a copy, commits
    /// it, then applies the same change in memory.
    pub(super) fn mutate_node(
        &self,
        id: &str,
        check: impl FnOnce(&LiveNode) -> Result<(), RegistryError>,
        change: impl Fn(&mut NodeRecord),
        audit: AuditRow,
    ) -> Result<NodeView, RegistryError> {
        let mut store = self.db.lock();
        let mut rec = {
            let fleet = self.fleet.read();
            let live = fleet.get(id)?;
            check(live)?;
            live.rec.clone()
        };
        change(&mut rec);
        store.transaction(|tx| {
            node_store::save(tx, &rec)?;
            audit_store::insert(tx, &audit)
        })?;
        let mut fleet = self.fleet.write();
        let live = fleet.checked_mut(id);
        change(&mut live.rec);
        live.touch();
        let live = &fleet.nodes[id];
        let view = live.view(fleet.twins(&live.rec), self.at());
        drop(fleet);
        self.touch_routing();
        Ok(view)
    }

    pub(crate) fn patch(
        &self,
        id: &str,
        p: &ValidPatch,
        actor: &Actor,
    ) -> Result<NodeView, RegistryError> {
        let fields: Vec<&str> = [
            ("custom_name", p.custom_name.is_some()),
            ("notes", p.notes.is_some()),
            ("tags", p.tags.is_some()),
        ]
        .into_iter()
        .filter_map(|(f, set)| set.then_some(f))
        .collect();
        self.mutate_node(
            id,
            |_| Ok(()),
            |rec| {
                if let Some(v) = &p.custom_name {
                    rec.custom_name.clone_from(v);
                }
                if let Some(v) = &p.notes {
                    rec.notes.clone_from(v);
                }
                if let Some(v) = &p.tags {
                    rec.tags = v.clone().unwrap_or_default();
                }
            },
            actor.ok("node.edit", id, format!("set {}", fields.join(", "))),
        )
    }

    pub(crate) fn set_drained(
        &self,
        id: &str,
        drained: bool,
        actor: &Actor,
    ) -> Result<NodeView, RegistryError> {
        let action = if drained {
            "node.drain"
        } else {
            "node.undrain"
        };
        self.mutate_node(
            id,
            |_| Ok(()),
            |rec| rec.drained = drained,
            actor.ok(action, id, ""),
        )
    }

    /// Removes a node and revokes its tokens.
    pub(crate) fn delete(&self, id: &str, actor: &Actor) -> Result<(), RegistryError> {
        let mut store = self.db.lock();
        let name = self.fleet.read().get(id)?.rec.machine_name.clone();
        let audit = actor.ok("node.remove", id, format!("machine name {name}"));
        store.transaction(|tx| {
            node_store::delete(tx, id)?;
            audit_store::insert(tx, &audit)
        })?;
        self.fleet.write().remove(id);
        self.touch_routing();
        tracing::info!(node_id = id, "node removed");
        Ok(())
    }
}

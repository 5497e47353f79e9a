//! Legacy records (`nodes.json`) written into the fleet.

use super::fleet::LiveNode;
use super::{Registry, RegistryError};
use crate::daemon::audit::Actor;
use crate::store::audit as audit_store;
use crate::store::nodes::{self as node_store, NodeRecord};

impl Registry {
    /// Writes imported records in one transaction, then adds them to memory.
    /// `decide` is called under the store lock with whether each id exists
    /// and returns whether to write the record.
    pub(crate) fn import_records(
        &self,
        records: Vec<NodeRecord>,
        mut decide: impl FnMut(&NodeRecord, bool) -> bool,
        dry_run: bool,
        actor: &Actor,
    ) -> Result<(), RegistryError> {
        let mut store = self.db.lock();
        let mut updated = 0;
        let chosen: Vec<NodeRecord> = {
            let fleet = self.fleet.read();
            records
                .into_iter()
                .filter(|r| {
                    let exists = fleet.nodes.contains_key(&r.id);
                    let take = decide(r, exists);
                    updated += usize::from(take && exists);
                    take
                })
                .collect()
        };
        if dry_run || chosen.is_empty() {
            return Ok(());
        }
        let audit = actor.did(
            "import.nodes",
            None,
            "ok",
            format!("{} imported, {updated} updated", chosen.len() - updated),
        );
        store.transaction(|tx| {
            for rec in &chosen {
                node_store::save(tx, rec)?;
            }
            audit_store::insert(tx, &audit)
        })?;
        let mut fleet = self.fleet.write();
        for rec in chosen {
            match fleet.nodes.get_mut(&rec.id) {
                Some(live) => {
                    let (old_name, old_port) =
                        (live.rec.machine_name.clone(), live.rec.runtime_port);
                    let (name, port, id) =
                        (rec.machine_name.clone(), rec.runtime_port, rec.id.clone());
                    live.rec = rec;
                    live.touch();
                    fleet.unlink_identity(&old_name, old_port, &id);
                    fleet.link_identity(&name, port, &id);
                }
                None => fleet.insert(LiveNode::new(rec)),
            }
        }
        drop(fleet);
        self.touch_routing();
        Ok(())
    }
}

//! The names the network events carry — DNS queries, TLS server names, HTTP `Host` headers
//! without their port — numbered once per run.
//!
//! Names repeat: a bundle's hundred thousand lookups name a few thousand hosts. Each distinct
//! name is normalised (lower case, no trailing dot) and cut to its registrable domain once,
//! here, and the baseline and the detectors that group by name key their maps by the small
//! numbers instead of hashing and comparing the text again for every event.

use super::domain;
use crate::model::{Event, Fields};
use rustc_hash::FxHashMap;

/// The number of a distinct normalised name.
pub type NameId = u32;
/// The number of a distinct registrable domain.
pub type ZoneId = u32;

/// No name: the event carries none, or it normalises to nothing.
const NONE: NameId = NameId::MAX;

/// Every event's name, by number.
pub struct NameTable<'a> {
    events: &'a [Event],
    /// Per event (same index as `events`): the id of the name it carries, or [`NONE`].
    of_event: Vec<NameId>,
    /// By name id: the normalised name.
    names: Vec<String>,
    /// By name id: its registrable domain.
    zone_of: Vec<ZoneId>,
    /// By zone id: the registrable domain.
    zones: Vec<String>,
}

/// The name an event carries as the wire had it: a DNS query, a TLS server name, an HTTP Host
/// without its port.
pub fn raw_name(e: &Event) -> Option<&str> {
    match &e.fields {
        Fields::Dns(d) => Some(d.query.as_str()),
        Fields::Tls(t) => t.server_name.as_deref(),
        Fields::Http(h) => h.host.as_deref().map(domain::strip_port),
        _ => None,
    }
}

impl<'a> NameTable<'a> {
    /// Numbers the names of `events`, in the order they first appear.
    pub fn build(events: &'a [Event]) -> NameTable<'a> {
        let mut table = NameTable {
            events,
            of_event: Vec::with_capacity(events.len()),
            names: Vec::new(),
            zone_of: Vec::new(),
            zones: Vec::new(),
        };
        // As written (most names come in one spelling) → id; normalised → id; domain → id.
        let mut by_raw: FxHashMap<&'a str, NameId> = FxHashMap::default();
        let mut by_name: FxHashMap<String, NameId> = FxHashMap::default();
        let mut by_zone: FxHashMap<String, ZoneId> = FxHashMap::default();
        for e in events {
            let Some(raw) = raw_name(e).filter(|r| !r.is_empty()) else {
                table.of_event.push(NONE);
                continue;
            };
            let id = *by_raw.entry(raw).or_insert_with(|| {
                let name = domain::normalize(raw);
                if name.is_empty() {
                    return NONE;
                }
                if let Some(&id) = by_name.get(&name) {
                    return id;
                }
                let zone = domain::registrable(&name);
                let next_zone = table.zones.len() as ZoneId;
                let zone_id = *by_zone.entry(zone).or_insert_with_key(|z| {
                    table.zones.push(z.clone());
                    next_zone
                });
                let id = table.names.len() as NameId;
                by_name.insert(name.clone(), id);
                table.names.push(name);
                table.zone_of.push(zone_id);
                id
            });
            table.of_event.push(id);
        }
        table
    }

    /// The id of the name `e` carries; `e` must be one of the table's events.
    pub fn of(&self, e: &Event) -> Option<NameId> {
        self.position(e).and_then(|i| self.at(i))
    }

    /// The id of the name the event at index `i` carries.
    pub fn at(&self, i: usize) -> Option<NameId> {
        self.of_event.get(i).copied().filter(|&id| id != NONE)
    }

    /// Where `e` lies in the table's events: they are one slice, so its address says.
    fn position(&self, e: &Event) -> Option<usize> {
        let size = std::mem::size_of::<Event>();
        let offset = (e as *const Event as usize).checked_sub(self.events.as_ptr() as usize)?;
        let i = offset / size;
        (offset % size == 0 && i < self.events.len()).then_some(i)
    }

    /// The normalised name.
    pub fn name(&self, id: NameId) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }

    /// The id of the name's registrable domain.
    pub fn zone_of(&self, id: NameId) -> ZoneId {
        self.zone_of.get(id as usize).copied().unwrap_or(ZoneId::MAX)
    }

    /// A registrable domain.
    pub fn zone(&self, zone: ZoneId) -> &str {
        self.zones.get(zone as usize).map_or("", String::as_str)
    }

    /// How many distinct names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// How many distinct registrable domains.
    pub fn zones(&self) -> usize {
        self.zones.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// What a detector works out about each name (its pool, its service, whether it is rare),
/// worked out once per name and remembered by the name's number.
pub struct PerName<'t, T> {
    table: &'t NameTable<'t>,
    known: Vec<Option<T>>,
}

impl<'t, T: Copy> PerName<'t, T> {
    pub fn new(table: &'t NameTable<'t>) -> Self {
        PerName { table, known: vec![None; table.len()] }
    }

    /// What `work` makes of the name numbered `id`, worked out the first time only.
    pub fn get(&mut self, id: NameId, work: impl FnOnce(&str) -> T) -> T {
        let name = self.table.name(id);
        match self.known.get_mut(id as usize) {
            Some(slot) => *slot.get_or_insert_with(|| work(name)),
            None => work(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testkit::Bundle;

    #[test]
    fn spellings_of_one_name_share_an_id_and_names_share_their_domain() {
        let mut b = Bundle::default();
        b.dns("10.0.0.1", "10.0.0.2", 1.0, "WWW.Example.com.", "A", &["93.184.216.34"]);
        b.dns("10.0.0.1", "10.0.0.2", 2.0, "www.example.com", "A", &["93.184.216.34"]);
        b.dns("10.0.0.1", "10.0.0.2", 3.0, "mail.example.com", "A", &[]);
        b.dns("10.0.0.1", "10.0.0.2", 4.0, ".", "NS", &[]);
        let events = b.events;
        let t = NameTable::build(&events);
        let ids: Vec<Option<NameId>> = events.iter().map(|e| t.of(e)).collect();
        let dns: Vec<Option<NameId>> =
            events.iter().zip(&ids).filter(|(e, _)| matches!(e.fields, Fields::Dns(_))).map(|(_, &id)| id).collect();
        assert_eq!(dns.len(), 4);
        let (www, www2, mail) = (dns[0].unwrap(), dns[1].unwrap(), dns[2].unwrap());
        assert_eq!(www, www2);
        assert_ne!(www, mail);
        assert_eq!(dns[3], None, "the root normalises to nothing");
        assert_eq!(t.name(www), "www.example.com");
        assert_eq!(t.zone_of(www), t.zone_of(mail));
        assert_eq!(t.zone(t.zone_of(mail)), "example.com");
        assert_eq!((t.len(), t.zones()), (2, 1));
    }

    #[test]
    fn what_is_worked_out_per_name_is_worked_out_once() {
        let mut b = Bundle::default();
        for at in [1.0, 2.0, 3.0] {
            b.dns("10.0.0.1", "10.0.0.2", at, "Example.com", "A", &[]);
        }
        let events = b.events;
        let t = NameTable::build(&events);
        let id = events.iter().find_map(|e| t.of(e)).expect("a name");
        let mut per = PerName::new(&t);
        let mut calls = 0;
        for _ in 0..3 {
            assert_eq!(
                per.get(id, |n| {
                    calls += 1;
                    n.len()
                }),
                "example.com".len()
            );
        }
        assert_eq!(calls, 1);
    }

    #[test]
    fn an_event_from_elsewhere_has_no_name() {
        let mut b = Bundle::default();
        b.dns("10.0.0.1", "10.0.0.2", 1.0, "example.com", "A", &[]);
        let events = b.events;
        let other = events.clone();
        let t = NameTable::build(&events);
        assert!(other.iter().all(|e| t.of(e).is_none()));
        assert!(events.iter().any(|e| t.of(e).is_some()));
    }
}

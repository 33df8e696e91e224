//! Network mapper: flows and application records → events.

use crate::flows::{AppEvent, FlowIdent};
use crate::model::{Event, EventKind, Fields, FlowRecord, HostRef, Locator, NetTuple, Provenance};

/// A finished flow as a timeline event at its start.
pub fn flow_event(flow: &FlowRecord) -> Event {
    Event {
        ts: flow.start,
        kind: EventKind::Flow,
        host: flow.process.as_ref().and_then(|a| a.host.clone()).map(|name| HostRef { name: Some(name), ip: None }),
        net: Some(NetTuple {
            src_ip: flow.orig_ip,
            src_port: flow.orig_port,
            dst_ip: flow.resp_ip,
            dst_port: flow.resp_port,
            transport: flow.transport,
            community_id: flow.community_id.clone(),
            flow_id: Some(flow.id.clone()),
        }),
        process: flow.process.as_ref().map(|a| Box::new(a.process.clone())),
        provenance: Provenance { file: flow.file, locator: Locator::Packet(flow.first_packet) },
        fields: Fields::Flow(Box::new(flow.clone())),
    }
}

/// The flow's identity as an event's tuple: moved out when this record held the last
/// reference to it, shared (two reference counts raised) otherwise.
fn tuple(f: std::sync::Arc<FlowIdent>) -> NetTuple {
    let f = std::sync::Arc::unwrap_or_clone(f);
    NetTuple {
        src_ip: f.orig_ip,
        src_port: f.orig_port,
        dst_ip: f.resp_ip,
        dst_port: f.resp_port,
        transport: f.transport,
        community_id: f.community_id,
        flow_id: Some(f.id),
    }
}

/// An application record as a timeline event.
pub fn app_event(file: u32, app: &AppEvent) -> Event {
    app_event_owned(file, app.clone())
}

/// An application record as a timeline event, moved rather than copied.
pub fn app_event_owned(file: u32, app: AppEvent) -> Event {
    let AppEvent { flow, at, kind, fields } = app;
    Event {
        ts: at.ts,
        kind,
        host: None,
        net: Some(tuple(flow)),
        process: None,
        provenance: Provenance { file, locator: Locator::Packet(at.packet) },
        fields,
    }
}

//! seam's integration tests, in one binary so the suite links once.

mod support;

mod attribution;
mod bad_endpoint;
mod bad_input;
mod cli;
mod conformance;
mod conformance_auditd;
mod conformance_evtx;
mod corpus_detect;
mod endpoint;
mod evtx_writer;
mod html;
mod hunt;
mod investigate;
mod layers;
mod man;
mod pipeline;

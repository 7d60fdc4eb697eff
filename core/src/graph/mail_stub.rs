//! TEMPORARY: the signature of the message move being built on another branch.
#![allow(dead_code, unused_variables)]
use super::{GraphClient, GraphError, GraphMessage};
impl GraphClient {
    pub async fn move_message(&self, id: &str, destination: &str) -> Result<GraphMessage, GraphError> {
        todo!()
    }
}
impl GraphClient {
    /// One message by id (its folder included), for a message a delta round lost track of.
    pub async fn message(&self, id: &str) -> Result<GraphMessage, GraphError> {
        todo!()
    }
}

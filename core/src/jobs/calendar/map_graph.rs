//! Graph event <-> neutral calendar item: filled with the Graph connector.

//! ERP.net activity <-> neutral calendar item: filled with the ERP.net connector.

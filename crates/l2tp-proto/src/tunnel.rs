//! tunnel (to be written).

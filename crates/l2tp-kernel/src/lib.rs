//! Linux L2TP data plane driver.

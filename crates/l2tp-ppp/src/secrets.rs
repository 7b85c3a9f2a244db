//! pppd secrets files (chap-secrets, pap-secrets): parser and lookup. Work in progress.

//! vCenter client: SOAP through vim_rs, vAPI REST tagging through reqwest.

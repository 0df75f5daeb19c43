//! Unit tests of the memory dynamics (see tests/lotito.rs for the anchors through the engine).

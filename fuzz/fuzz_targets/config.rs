//! Any bytes as renewal.yaml: an error or a config, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(config) = renewctl::desired::parse(data, "fuzz.yaml") {
        // A config that parses must also validate against itself twice the same way.
        let again = renewctl::desired::parse(data, "fuzz.yaml");
        assert_eq!(Ok(&config), again.as_ref());
    }
});

//! `renewctl schema`: prints the JSON Schema of renewal.yaml, generated from the model; the same
//! text as `schemas/renewal.schema.json` (a test holds them together).

use std::io::Write;

pub fn schema() -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
    out.write_all(crate::desired::schema::to_json().as_bytes())?;
    Ok(0)
}

//! The student as the on-device runtime runs it: built in memory the way an artifact
//! would be, and scoring evaluation cases from each shopper's events.

use std::collections::HashMap;

use burn::tensor::backend::Backend;
use pocketrank_model::metrics::CaseScorer;
use pocketrank_model::student::Student;
use pocketrank_model::teacher::ItemText;
use pocketrank_model::{EvalCase, Interaction};
use pocketrank_runtime::Ranker;
use pocketrank_runtime::artifact::{Artifact, Encoding, Manifest};

use super::StudentSpec;

/// The runtime for a student, and the artifact bytes it was decoded from.
pub fn ranker_of<B: Backend>(
    model: &Student<B>,
    text: &ItemText<B>,
    manifest: Manifest,
    encoding: Encoding,
    tokenizer: Option<String>,
) -> anyhow::Result<(Ranker, Vec<u8>)> {
    let mut tensors = model.export_tensors(text);
    if tokenizer.is_none() {
        // Without a tokenizer the runtime has no text path: leave its table out.
        tensors.remove("tokens");
    }
    // Every matrix is stored like the item table (biases and vectors stay f32).
    let encodings: HashMap<String, Encoding> =
        tensors.iter().filter(|(_, w)| w.shape.len() == 2).map(|(name, _)| (name.clone(), encoding)).collect();
    let artifact = Artifact::new(manifest, tensors, tokenizer);
    let bytes = artifact.encode(&encodings)?;
    Ok((Ranker::from_bytes(&bytes)?, bytes))
}

/// A manifest without the record fields (filled at export): the student's dims and
/// architecture, the item ids, and the student's spec as the training record.
pub fn bare_manifest(item_ids: Vec<String>, spec: &StudentSpec, title_tokens: usize) -> Manifest {
    let dims = spec.student.dims(title_tokens);
    Manifest {
        training: serde_json::to_value(spec).unwrap_or_default(),
        ..Manifest::new(dims, item_ids, "", Encoding::F32)
    }
}

/// Scores evaluation cases with a [`Ranker`]: each case's profile is folded from the
/// shopper's events (kinds and times included), then the whole catalog is scored.
pub struct RankerCases<'a> {
    pub ranker: &'a Ranker,
    pub events: &'a [Vec<Interaction>],
}

impl RankerCases<'_> {
    /// The profile after a case's history.
    pub fn profile(&self, case: &EvalCase) -> pocketrank_runtime::Profile {
        let mut p = self.ranker.new_profile();
        let events = self.events.get(case.user as usize).map_or(&[][..], Vec::as_slice);
        for e in events.iter().take(case.history.len()) {
            // Catalog indices and finite times: this cannot fail.
            let _ = self.ranker.observe_item(&mut p, e.item, e.kind, e.ts as f64);
        }
        p
    }
}

impl CaseScorer for RankerCases<'_> {
    fn catalog_size(&self) -> usize {
        self.ranker.manifest().dims.n_items
    }

    fn score_cases(&self, cases: &[EvalCase], out: &mut [f32]) {
        let n = self.catalog_size();
        let half = cases.len().div_ceil(2);
        let (a, b) = out[..cases.len() * n].split_at_mut(half * n);
        let score = |cases: &[EvalCase], out: &mut [f32]| {
            for (case, row) in cases.iter().zip(out.chunks_mut(n)) {
                if self.ranker.score_catalog(&self.profile(case), row).is_err() {
                    row.fill(f32::NAN);
                }
            }
        };
        std::thread::scope(|s| {
            s.spawn(|| score(&cases[..half], a));
            score(&cases[half..], b);
        });
    }

    fn cases_per_batch(&self) -> usize {
        64
    }
}

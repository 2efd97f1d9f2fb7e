//! Leave-one-out split: per shopper, the last event is the test target and the one before
//! it the validation target; everything earlier is training data.

use crate::catalog::ItemIdx;

/// Users need at least this many events to get a validation and a test case
/// (one training event, one validation target, one test target).
pub const MIN_EVALUABLE_LEN: usize = 3;

/// One ranking question: given `history` (oldest first), where does `target` land?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalCase {
    /// Dense user index in the dataset.
    pub user: u32,
    /// What the model may see: every event before the target.
    pub history: Vec<ItemIdx>,
    /// The held-out next item.
    pub target: ItemIdx,
}

/// The leave-one-out split of a set of item sequences.
///
/// - `train[u]` is what training may read of user `u`: the sequence without its last two
///   events (or the whole sequence for users shorter than [`MIN_EVALUABLE_LEN`], who are
///   not evaluated).
/// - `valid` asks for the second-to-last item given everything before it.
/// - `test` asks for the last item given everything before it (the validation item is part
///   of the history, as in SASRec, S3-Rec and RecBole).
#[derive(Debug, Clone)]
pub struct LeaveOneOut {
    pub train: Vec<Vec<ItemIdx>>,
    pub valid: Vec<EvalCase>,
    pub test: Vec<EvalCase>,
    /// Every user's full sequence (for excluding a user's items from sampled negatives).
    full: Vec<Vec<ItemIdx>>,
}

impl LeaveOneOut {
    /// Splits each user's chronological item sequence.
    pub fn new(sequences: Vec<Vec<ItemIdx>>) -> Self {
        let mut train = Vec::with_capacity(sequences.len());
        let (mut valid, mut test) = (Vec::new(), Vec::new());
        for (user, seq) in sequences.iter().enumerate() {
            let n = seq.len();
            if n < MIN_EVALUABLE_LEN {
                train.push(seq.clone());
                continue;
            }
            train.push(seq[..n - 2].to_vec());
            valid.push(EvalCase { user: user as u32, history: seq[..n - 2].to_vec(), target: seq[n - 2] });
            test.push(EvalCase { user: user as u32, history: seq[..n - 1].to_vec(), target: seq[n - 1] });
        }
        Self { train, valid, test, full: sequences }
    }

    /// User `u`'s whole sequence, including the held-out items.
    pub fn full_sequence(&self, user: u32) -> &[ItemIdx] {
        self.full.get(user as usize).map_or(&[], Vec::as_slice)
    }

    /// Number of users (evaluated or not).
    pub fn users(&self) -> usize {
        self.full.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_out_the_last_two_events() {
        let split = LeaveOneOut::new(vec![vec![1, 2, 3, 4], vec![5, 6], vec![7, 8, 9]]);
        assert_eq!(split.train, vec![vec![1, 2], vec![5, 6], vec![7]]);
        assert_eq!(split.valid.len(), 2);
        assert_eq!(split.valid[0], EvalCase { user: 0, history: vec![1, 2], target: 3 });
        assert_eq!(split.test[0], EvalCase { user: 0, history: vec![1, 2, 3], target: 4 });
        assert_eq!(split.test[1], EvalCase { user: 2, history: vec![7, 8], target: 9 });
        assert_eq!(split.full_sequence(1), &[5, 6]);
    }
}

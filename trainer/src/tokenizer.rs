//! The catalog tokenizer: a WordPiece vocabulary trained on the catalog's own text (titles,
//! brands, categories, attributes), saved as `tokenizer.json` and fingerprinted so
//! artifacts can name the exact tokenizer they were trained with.

use pocketrank_model::Catalog;
use pocketrank_model::text::PAD_TOKEN;
use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::models::wordpiece::{WordPiece, WordPieceTrainer};
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::{
    AddedToken, DecoderWrapper, NormalizerWrapper, PostProcessorWrapper, PreTokenizerWrapper, Tokenizer,
    TokenizerBuilder,
};

use crate::data::download::sha256_hex;

/// Padding token; always id 0 ([`PAD_TOKEN`]).
pub const PAD: &str = "[PAD]";
/// Unknown-piece token; always id 1.
pub const UNK: &str = "[UNK]";

/// Why a tokenizer could not be trained or loaded.
#[derive(Debug, thiserror::Error)]
#[error("tokenizer: {0}")]
pub struct TokenizerError(String);

fn err(e: impl std::fmt::Display) -> TokenizerError {
    TokenizerError(e.to_string())
}

/// A trained catalog tokenizer with its serialized form and fingerprint.
pub struct CatalogTokenizer {
    tokenizer: Tokenizer,
    json: String,
    sha256: String,
}

impl CatalogTokenizer {
    /// Trains a WordPiece vocabulary of at most `vocab_size` pieces on every item's text.
    /// Items without text contribute nothing (and later encode to no tokens).
    pub fn train(catalog: &Catalog, vocab_size: usize) -> Result<Self, TokenizerError> {
        let mut tokenizer = TokenizerBuilder::<
            WordPiece,
            NormalizerWrapper,
            PreTokenizerWrapper,
            PostProcessorWrapper,
            DecoderWrapper,
        >::default()
        .with_model(WordPiece::builder().unk_token(UNK.into()).build().map_err(err)?)
        .with_normalizer(Some(BertNormalizer::default().into()))
        .with_pre_tokenizer(Some(BertPreTokenizer.into()))
        .with_decoder(Some(WordPieceDecoder::default().into()))
        .build()
        .map_err(err)?;
        let mut trainer = WordPieceTrainer::builder()
            .vocab_size(vocab_size)
            .min_frequency(2)
            .show_progress(false)
            .special_tokens(vec![AddedToken::from(PAD, true), AddedToken::from(UNK, true)])
            .build();
        let texts: Vec<String> = catalog.items().iter().map(|i| i.text()).filter(|t| !t.is_empty()).collect();
        if texts.is_empty() {
            return Err(TokenizerError("the catalog has no text to train on".into()));
        }
        tokenizer.train(&mut trainer, texts.iter()).map_err(err)?;
        Self::from_tokenizer(tokenizer.into())
    }

    /// Loads a tokenizer saved by [`json`](Self::json).
    pub fn from_json(json: &str) -> Result<Self, TokenizerError> {
        Self::from_tokenizer(json.parse::<Tokenizer>().map_err(err)?)
    }

    fn from_tokenizer(tokenizer: Tokenizer) -> Result<Self, TokenizerError> {
        if tokenizer.token_to_id(PAD) != Some(PAD_TOKEN) {
            return Err(TokenizerError(format!("{PAD} must have id {PAD_TOKEN}")));
        }
        let json = tokenizer.to_string(false).map_err(err)?;
        let sha256 = sha256_hex(json.as_bytes());
        Ok(Self { tokenizer, json, sha256 })
    }

    /// The tokenizer as `tokenizer.json` text.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// SHA-256 of [`json`](Self::json), hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Number of token ids.
    pub fn vocab_size(&self) -> usize {
        self.tokenizer.get_vocab_size(true)
    }

    /// Token ids of a text (no special tokens).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        Ok(self.tokenizer.encode(text, false).map_err(err)?.get_ids().to_vec())
    }

    /// Token ids of every item's text, in catalog order.
    pub fn encode_catalog(&self, catalog: &Catalog) -> Result<Vec<Vec<u32>>, TokenizerError> {
        catalog.items().iter().map(|i| self.encode(&i.text())).collect()
    }

    /// Token ids of every item's title and, apart, of the rest of its text (brand,
    /// category, attributes), in catalog order.
    pub fn encode_fields(&self, catalog: &Catalog) -> Result<FieldTokens, TokenizerError> {
        let (titles, attributes) = catalog
            .items()
            .iter()
            .map(|i| Ok((self.encode(&i.title)?, self.encode(&i.attribute_text())?)))
            .collect::<Result<_, TokenizerError>>()?;
        Ok(FieldTokens { titles, attributes })
    }
}

/// Every item's title tokens and, apart, the tokens of the rest of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldTokens {
    /// Token ids of each item's title, in catalog order.
    pub titles: Vec<Vec<u32>>,
    /// Token ids of each item's brand, category and attributes, in catalog order.
    pub attributes: Vec<Vec<u32>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pocketrank_model::Item;

    #[test]
    fn trains_on_catalog_text_and_round_trips() {
        let titles = ["Red Nail Polish", "Blue Nail Polish", "Red Lipstick Matte", "", "Nail File"];
        let items = titles
            .iter()
            .enumerate()
            .map(|(i, t)| Item { id: i.to_string(), title: t.to_string(), ..Item::default() })
            .collect();
        let catalog = Catalog::new(items).unwrap();
        let tok = CatalogTokenizer::train(&catalog, 200).unwrap();
        let ids = tok.encode_catalog(&catalog).unwrap();
        assert!(ids[3].is_empty(), "an empty title has no tokens");
        assert_eq!(ids[0].len(), 3);
        assert_eq!(ids[0][1..], ids[1][ids[1].len() - 2..], "shared words share ids");
        assert!(ids.iter().flatten().all(|&t| t != PAD_TOKEN));
        let again = CatalogTokenizer::from_json(tok.json()).unwrap();
        assert_eq!(again.sha256(), tok.sha256());
        assert_eq!(again.encode("red nail").unwrap(), tok.encode("Red NAIL").unwrap());
        assert!(
            CatalogTokenizer::train(&Catalog::new(vec![Item { id: "x".into(), ..Item::default() }]).unwrap(), 100)
                .is_err()
        );
    }

    #[test]
    fn encodes_titles_apart_from_the_rest_of_the_text() {
        let item = |id: &str, title: &str, brand: Option<&str>, attributes: &[&str]| Item {
            id: id.into(),
            title: title.into(),
            brand: brand.map(String::from),
            attributes: attributes.iter().map(|a| a.to_string()).collect(),
            ..Item::default()
        };
        let catalog = Catalog::new(vec![
            item("a", "Red Nail Polish", Some("OPI"), &["Makeup", "Nails"]),
            item("b", "", None, &["Makeup"]),
            item("c", "Nail File", None, &[]),
        ])
        .unwrap();
        let tok = CatalogTokenizer::train(&catalog, 200).unwrap();
        let FieldTokens { titles, attributes: rest } = tok.encode_fields(&catalog).unwrap();
        assert_eq!(titles[0], tok.encode("Red Nail Polish").unwrap());
        assert_eq!(rest[0], tok.encode("OPI | Makeup | Nails").unwrap());
        assert!(titles[1].is_empty());
        assert_eq!(rest[1], tok.encode("Makeup").unwrap());
        assert!(rest[2].is_empty());
        let whole = tok.encode_catalog(&catalog).unwrap();
        assert_eq!(whole[0].len(), titles[0].len() + rest[0].len() + 1, "the whole text adds one ` | `");
    }
}

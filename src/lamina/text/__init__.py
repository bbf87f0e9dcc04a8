"""Text for word embeddings: vocabulary, corpus reading, training batches.

- :class:`Vocabulary` - the N most frequent words, everything else ``UNK`` (index 0).
- :func:`read_corpus` - the words of a UTF-8 text file, with clear errors.
- :func:`skipgram_batches`, :func:`cbow_batches` - endless batch iterators over word indices.
- :func:`subsample`, :func:`unigram_table`, :class:`NegativeSampler` - word2vec sampling.
"""
from .batches import CBOWBatches, SkipGramBatches, cbow_batches, skipgram_batches
from .corpus import read_corpus
from .sampling import NegativeSampler, keep_probabilities, subsample, unigram_table
from .vocabulary import Vocabulary

__all__ = [
    "Vocabulary",
    "read_corpus",
    "skipgram_batches",
    "cbow_batches",
    "SkipGramBatches",
    "CBOWBatches",
    "subsample",
    "keep_probabilities",
    "unigram_table",
    "NegativeSampler",
]

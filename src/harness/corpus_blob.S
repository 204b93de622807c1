// The built-in prompt corpus: each data/corpus/*.txt file embedded with .incbin (CMake passes
// -I data/corpus), plus a table that harness/corpus.cpp reads as
//   struct { const char* name; const char* begin; const char* end; } cacheon_corpus_table[];
// ending with an all-null entry. Keep one line per file, sorted by file name; data/corpus/README.md
// explains why the order matters. ELF targets only (Linux), which is what the project builds on.

#if defined(__ELF__)

  .macro CACHEON_CORPUS_DOC id, file
  .pushsection .rodata.cacheon_corpus, "a"
.Lcacheon_doc_\id:
  .incbin "\file"
.Lcacheon_doc_end_\id:
.Lcacheon_name_\id:
  .asciz "\file"
  .popsection
  .dc.a .Lcacheon_name_\id, .Lcacheon_doc_\id, .Lcacheon_doc_end_\id
  .endm

  // Pointers need relocation in a position-independent executable, hence .data.rel.ro.
  .section .data.rel.ro.cacheon_corpus, "aw"
  .balign 16
  .globl cacheon_corpus_table
  .type cacheon_corpus_table, %object
cacheon_corpus_table:
  CACHEON_CORPUS_DOC 0, "austen_pride_and_prejudice.txt"
  CACHEON_CORPUS_DOC 1, "darwin_origin_of_species.txt"
  CACHEON_CORPUS_DOC 2, "dickens_a_tale_of_two_cities.txt"
  CACHEON_CORPUS_DOC 3, "doyle_adventures_of_sherlock_holmes.txt"
  CACHEON_CORPUS_DOC 4, "fitzgerald_the_great_gatsby.txt"
  CACHEON_CORPUS_DOC 5, "franklin_autobiography.txt"
  CACHEON_CORPUS_DOC 6, "shelley_frankenstein.txt"
  CACHEON_CORPUS_DOC 7, "smith_wealth_of_nations_books_1_2.txt"
  CACHEON_CORPUS_DOC 8, "thoreau_walden.txt"
  .dc.a 0, 0, 0
  .size cacheon_corpus_table, . - cacheon_corpus_table

  .section .note.GNU-stack, "", %progbits

#endif

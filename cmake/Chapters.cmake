# Every chapter, in book order: the one list both builds (host and kernel)
# read. A new chapter adds its folder here.
set(HB_CHAPTERS 01-newtypes 02-hart-boot 03-trap-stacks 04-runqueues 05-ipis 06-stealing 07-proofs)

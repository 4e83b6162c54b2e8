module memdbg.example/goheap

go 1.22

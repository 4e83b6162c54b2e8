module memdbg.example/bigheap

go 1.22

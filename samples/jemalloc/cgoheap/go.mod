module memdbg.example/cgoheap

go 1.22

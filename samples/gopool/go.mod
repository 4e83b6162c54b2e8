module memdbg.example/gopool

go 1.22

module memdbg.example/threads

go 1.22

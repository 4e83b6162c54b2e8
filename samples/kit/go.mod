module memdbg.example/kit

go 1.22

module memdbg.example/minimal

go 1.22

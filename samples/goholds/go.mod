module memdbg.example/goholds

go 1.22

module github.com/ninsho/ninsho

go 1.26.8

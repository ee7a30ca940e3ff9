# One line per reader: fuzz_<name>.c, seeds in corpus/<name>/, and a dictionary.
# Adding a reader: write fuzz_<name>.c (LLVMFuzzerTestOneInput; fuzz.h helps),
# put seed files in corpus/<name>/, and add its line here.
fligru_fuzz(npy          npy.dict)
fligru_fuzz(safetensors  safetensors.dict)
fligru_fuzz(yaml         yaml.dict)
fligru_fuzz(config       yaml.dict)
fligru_fuzz(vectors      hex.dict)

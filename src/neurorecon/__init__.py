"""neurorecon: decode what a person saw from fMRI, EEG and sEEG."""

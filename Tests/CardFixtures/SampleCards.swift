import CardEmulator

/// The tests' sample card is the library's synthetic one.
public typealias SampleCards = SampleCard

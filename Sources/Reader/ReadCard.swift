import CardCore
import CardCrypto
import ChipAccess
import EAC
import LDS
import Verification

// The whole read: access control, every file EF.SOD signs, the chip checks, the verdicts.
extension ReaderSession {
    /// The whole read: access control, EF.COM, DG14 then Chip Authentication, DG15 then Active Authentication,
    /// then every other data group EF.COM lists (DG3/DG4 need Terminal Authentication and are skipped without
    /// an APDU) and EF.SOD.
    public func readCard(_ key: AccessKey, options: ReadOptions = .init()) throws -> ReadResult {
        maxFileSize = options.maxFileSize
        do {
            try authenticate(key, options: options)
            let reopen: (() throws -> Void)? =
                options.reopensBrokenChannel ? { try self.authenticate(key, options: options) } : nil
            var result = try readAll(reauthenticate: reopen, options: options)
            result.notes = notes
            report(.passiveAuthentication)
            Verification.verify(&result, options: options)
            return result
        } catch {
            throw ReaderError.wrap(error, doing: "reading the card")
        }
    }

    /// Reads the files after access control (see `readCard`). `reauthenticate` re-opens the card when the secure
    /// channel broke (a clone failing Chip Authentication, a garbled answer).
    ///
    /// What is read is what EF.SOD signs: EF.COM is not signed, so its list is only a hint (a mismatch is a
    /// note), and every data group EF.SOD lists is read, or recorded as skipped with a reason (Terminal
    /// Authentication needed, not asked for) or as unreadable. From here on the read ends in verdicts: a file that
    /// cannot be read or parsed fails its own check; only a card that leaves, a reader that goes or a refused key
    /// end it with an error.
    public func readAll(reauthenticate: (() throws -> Void)? = nil, options: ReadOptions = .init()) throws -> ReadResult
    {
        var result = ReadResult(accessControl: accessControl)
        result.usedChipAuthenticationMapping = paceResult?.protocolUsed.mapping == .chipAuthentication
        var recoveries = 0
        /// Set once the channel is gone for good: every later file is unreadable for this reason.
        var channelBroken: String? = nil
        /// Set while Chip Authentication waits for the chip to answer under the new keys.
        var chipAuthenticationPending: String? = nil
        /// Runs Chip Authentication again (once), when the first answer under the new keys did not verify.
        var chipAuthenticationRetry: (() throws -> Verdict?)? = nil

        /// Re-opens the card after the secure channel broke (at most twice a read).
        func recover(after error: ReaderError) throws {
            guard let reauthenticate, recoveries < 2 else {
                channelBroken = "not read: the secure channel broke (\(error))"
                return
            }
            recoveries += 1
            let change = adaptAfterBreak()
            do {
                try reauthenticate()
                notes.append(
                    "the secure channel broke (\(error)); the card was opened again"
                        + (change.map { " and \($0)" } ?? ""))
            } catch let again as ReaderError where !again.endsTheRead {
                channelBroken = "not read: the secure channel broke and the card could not be opened again (\(again))"
            }
        }
        func readChecked(_ file: LDSFile) throws -> [UInt8] {
            guard let protocolName = chipAuthenticationPending else { return try readFile(file) }
            chipAuthenticationPending = nil
            do {
                let bytes = try readFile(file)
                result.checks.chipAuthentication = .passed(
                    "\(protocolName): the chip answered under the new session keys")
                return bytes
            } catch let error as ReaderError where error.code == .secureMessaging {
                // One garbled answer is not yet a clone: open the card again and run Chip Authentication once more.
                // A chip that cannot answer under the new keys twice does not hold the key of DG14.
                if let again = chipAuthenticationRetry, let reauthenticate {
                    chipAuthenticationRetry = nil
                    try reauthenticate()
                    if let verdict = try again() {
                        result.checks.chipAuthentication = verdict
                        return try readFile(file)
                    }
                    chipAuthenticationPending = protocolName
                    return try readChecked(file)
                }
                result.checks.chipAuthentication = .failed(
                    "\(protocolName): the chip could not answer under the new keys; it does not hold the key of DG14 (possible clone)"
                )
                guard let reauthenticate else { throw error }
                try reauthenticate()
                return try readFile(file)
            }
        }
        /// Reads one file into `result.files`; a failure that leaves the card usable becomes an `unreadable`
        /// entry (absent files are not entries when `probing`). A secure-messaging failure (a garbled answer, a
        /// chip out of step) re-opens the card and reads the file once more: one glitch never costs a file.
        @discardableResult
        func attempt(_ file: LDSFile, probing: Bool = false, retried: Bool = false) throws -> [UInt8]? {
            if let channelBroken {
                result.unreadable[file] = channelBroken
                return nil
            }
            do {
                let bytes = try readChecked(file)
                result.files[file] = bytes
                return bytes
            } catch let error as ReaderError {
                if error.endsTheRead { throw error }
                if error.code == .secureMessaging, secureMessaging?.failedAfterPlainAnswer == true,
                    !learntPlainAnswerRule, let reauthenticate, recoveries < 2
                {
                    // The channel broke right after an unprotected status answer: this chip counts those in its
                    // SSC the other way. Open the card again with the other rule; what broke was the counter, not
                    // the request.
                    plainAnswersCountInSSC.toggle()
                    learntPlainAnswerRule = true
                    recoveries += 1
                    note(
                        "the chip \(plainAnswersCountInSSC ? "counts" : "does not count") its unprotected status answers in the SSC; the card was opened again"
                    )
                    do {
                        try reauthenticate()
                    } catch let again as ReaderError where !again.endsTheRead {
                        channelBroken =
                            "not read: the secure channel broke and the card could not be opened again (\(again))"
                        result.unreadable[file] = channelBroken
                        return nil
                    }
                    return try attempt(file, probing: probing)
                }
                if probing && error.code == .fileUnreadable { return nil }
                if error.code == .secureMessaging, !retried, reauthenticate != nil, recoveries < 2 {
                    try recover(after: error)
                    if channelBroken == nil { return try attempt(file, probing: probing, retried: true) }
                    result.unreadable[file] = error.description
                    return nil
                }
                result.unreadable[file] = error.description
                if error.statusWord == .fileNotFound { result.absent.insert(file) }
                if error.code == .secureMessaging { try recover(after: error) }
                return nil
            }
        }

        // EF.SOD: the signed list of data groups.
        var sodGroups: Set<Int>? = nil
        if let bytes = try attempt(.sod) {
            // Parsed once: Passive Authentication takes it as it is.
            if let document = try? SecurityObjectDocument(bytes: bytes), let object = try? document.securityObject() {
                result.securityObject = (document, object)
                sodGroups = Set(object.dataGroupHashes.keys)
            }
        }
        // EF.COM: a hint only (it is not signed), read when asked or when EF.SOD gives no list.
        var comGroups: Set<Int>? = nil
        if options.readsEFCOM || sodGroups?.isEmpty != false, let bytes = try attempt(.com) {
            do {
                comGroups = Set(try EFCOM(bytes: bytes).dataGroups.compactMap(\.dataGroupNumber))
            } catch {
                if let lenient = EFCOM.dataGroupsLeniently(bytes), !lenient.isEmpty {
                    comGroups = lenient
                    notes.append(
                        "EF.COM is malformed (\(error)); its tag list was read as \(lenient.sorted().map { "DG\($0)" }.joined(separator: ", "))"
                    )
                } else {
                    notes.append("EF.COM cannot be parsed (\(error)); the data groups were taken from EF.SOD")
                }
            }
        }
        result.securityObjectGroups = sodGroups
        let listed: Set<Int>
        var probing = false
        /// Where the list of data groups came from, for the verdicts' reasons.
        var listSource = "EF.SOD"
        if let sodGroups, !sodGroups.isEmpty {
            listed = sodGroups
            if let comGroups, comGroups != sodGroups {
                func names(_ set: Set<Int>) -> String {
                    set.isEmpty ? "none" : set.sorted().map { "DG\($0)" }.joined(separator: ", ")
                }
                let unsigned = comGroups.subtracting(sodGroups)
                let hidden = sodGroups.subtracting(comGroups)
                var parts: [String] = []
                if !hidden.isEmpty { parts.append("EF.SOD signs \(names(hidden)), which EF.COM does not list (read)") }
                if !unsigned.isEmpty {
                    parts.append("EF.COM lists \(names(unsigned)), which EF.SOD does not sign (not read)")
                }
                notes.append("EF.COM and EF.SOD disagree: " + parts.joined(separator: "; "))
            }
        } else if let comGroups, !comGroups.isEmpty {
            listed = comGroups
            listSource = "EF.COM"
            notes.append(
                (result.files[.sod] == nil ? "EF.SOD could not be read" : "EF.SOD lists no data groups")
                    + "; those EF.COM lists were read")
        } else {
            listed = Set(1...16)
            probing = true
            listSource = "the probe"
            notes.append("neither EF.SOD nor EF.COM lists the data groups; the standard ones were probed")
        }
        var pending = listed.sorted().filter { n in (options.dataGroups?.contains(n) ?? true) || n == 14 || n == 15 }
        for n in listed where !pending.contains(n) && !probing {
            result.skipped[.dataGroup(n)] = "not asked for (this read was limited to other data groups)"
        }
        /// Settles a pending Chip Authentication with one protected read (EF.COM, else EF.SOD again).
        func settleChipAuthentication() throws {
            guard chipAuthenticationPending != nil, channelBroken == nil else { return }
            let probe: LDSFile = result.files[.com] == nil ? .com : .sod
            do {
                let bytes = try readChecked(probe)
                if probe == .com, options.readsEFCOM { result.files[.com] = bytes }
            } catch let error as ReaderError where !error.endsTheRead {}
        }
        /// What Terminal Authentication granted (run once, on the first data group that needs it), nil when it
        /// did not run or failed (its check says why).
        var terminalRights: CVAuthorization.Rights?? = nil
        func terminalAuthentication(_ terminal: TerminalCredentials) throws -> CVAuthorization.Rights? {
            if let done = terminalRights { return done }
            terminalRights = .some(nil)
            try settleChipAuthentication()
            report(.terminalAuthentication)
            let verdict = try runTerminalAuthentication(
                terminal, chipAuthentication: result.checks.chipAuthentication, channelBroken: channelBroken,
                recover: recover)
            result.checks.terminalAuthentication = verdict.verdict
            terminalRights = .some(verdict.rights)
            return verdict.rights
        }
        func read(_ n: Int) throws {
            pending.removeAll { $0 == n }
            let file = LDSFile.dataGroup(n)
            if file.needsTerminalAuthentication {
                if probing { return }
                guard let terminal = options.terminal else {
                    result.skipped[file] = "needs Terminal Authentication (EAC)"
                    return
                }
                guard let rights = try terminalAuthentication(terminal) else {
                    result.skipped[file] = "not read: Terminal Authentication did not succeed (see its check)"
                    return
                }
                guard rights.reads(dataGroup: n) else {
                    result.skipped[file] = "not read: the terminal's certificates do not grant DG\(n) (\(rights))"
                    return
                }
            }
            try attempt(file, probing: probing)
        }
        /// Why a listed file is not there (for a verdict), or nil when the card simply has none.
        func missing(_ n: Int) -> String? {
            result.unreadable[.dataGroup(n)] ?? (listed.contains(n) && !probing ? "listed but not read" : nil)
        }

        // Chip Authentication with the key in DG14 (also the check of PACE-CAM).
        if pending.contains(14) { try read(14) }
        // DG14 is parsed once: Chip Authentication and the AA hash both come from it.
        var dg14: DataGroup14? = nil
        if let bytes = result.files[.dataGroup(14)] {
            do {
                let parsed = try DataGroup14(bytes: bytes)
                dg14 = parsed
                if let verdict = try chipAuthentication(dg14: parsed, options: options, reauthenticate: recover) {
                    result.checks.chipAuthentication = verdict
                } else {
                    chipAuthenticationPending = parsed.caProtocolName
                    chipAuthenticationRetry = {
                        try self.chipAuthentication(
                            dg14: parsed, options: options, reauthenticate: recover, retried: true)
                    }
                }
            } catch let error as LDSError {
                result.checks.chipAuthentication = .failed("DG14 cannot be parsed: \(error)")
            }
        } else if let why = missing(14) {
            result.checks.chipAuthentication = .failed(
                (result.usedChipAuthenticationMapping ? "PACE-CAM cannot be checked: " : "")
                    + "DG14 is listed in \(listSource) but cannot be read: \(why)")
        } else if result.usedChipAuthenticationMapping {
            result.checks.chipAuthentication = .failed("PACE-CAM: the card has no DG14 to check the chip's key against")
        } else {
            result.checks.chipAuthentication = .notChecked("the card has no DG14")
        }
        // Active Authentication with the key in DG15.
        if pending.contains(15) { try read(15) }
        if let dg15 = result.files[.dataGroup(15)] {
            result.checks.activeAuthentication = try activeAuthentication(
                dg15: dg15, dg14: dg14, options: options, recover: recover)
        } else if let why = missing(15) {
            result.checks.activeAuthentication = .failed("DG15 is listed in \(listSource) but cannot be read: \(why)")
        } else {
            result.checks.activeAuthentication = .notChecked("the card has no DG15")
        }
        // The groups behind Terminal Authentication last: by then Chip Authentication has been proven.
        for n in pending.sorted(by: {
            (LDSFile.dataGroup($0).needsTerminalAuthentication ? 1 : 0, $0)
                < (LDSFile.dataGroup($1).needsTerminalAuthentication ? 1 : 0, $1)
        }) { try read(n) }
        if options.terminal != nil, terminalRights == nil, !probing {
            result.checks.terminalAuthentication = .notChecked("the card lists no data group behind it (DG3, DG4)")
        }
        let closed = result.skipped.keys.filter(\.needsTerminalAuthentication).map(\.name).sorted()
        if options.terminal == nil, !closed.isEmpty {
            result.checks.terminalAuthentication = .notChecked(
                "no inspection system given (cccd read --terminal): \(closed.joined(separator: ", ")) stays closed")
        }
        // Nothing was left to read: one more protected read proves (or disproves) the chip's key.
        try settleChipAuthentication()
        secureMessagingNotes()
        result.accessControl = accessControl
        result.apduCount = meter.apduCount
        result.bytesSent = meter.bytesSent
        result.bytesReceived = meter.bytesReceived
        return result
    }
}

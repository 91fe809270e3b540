import Foundation
import Testing

@testable import MdevKube

@Suite("When the agent restarts virt-handler")
struct VirtHandlerRestartTests {
    let offer = #"{"blockedParents":0,"configDigest":"a","devices":16,"parents":1,"wanted":["nvidia-222"]}"#

    @Test func onlyWhenTheOfferedDevicesChange() {
        // The same devices under another config digest (a label no selector names): virt-handler has them.
        #expect(!VirtHandlerRestart.differs(offer, from: offer.replacingOccurrences(of: #""configDigest":"a""#, with: #""configDigest":"b""#)))
        #expect(VirtHandlerRestart.differs(offer, from: offer.replacingOccurrences(of: "16", with: "8")))
        #expect(VirtHandlerRestart.differs(offer, from: offer.replacingOccurrences(of: "nvidia-222", with: "nvidia-228")))
        // Nothing known of before (a new node, or one that never converged): its devices may be new.
        #expect(VirtHandlerRestart.differs(offer, from: nil))
        // A report without a summary offers nothing to compare.
        #expect(!VirtHandlerRestart.differs(nil, from: offer))
    }
}

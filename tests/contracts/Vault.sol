// SPDX-License-Identifier: MIT
// The protected contract of keeper's end-to-end tests: a vault holding ETH
// and one ERC-20 (tests/contracts/Erc20.sol) for its depositors, with a
// guardian that can pause it -- and a deliberate hole for the tests to
// exploit: emergencyWithdraw() has NO access check, so anyone can send all
// of the vault's ETH and all of any token it holds to any address.  The
// mempool trigger must see that drain while it is pending, and the
// guardian's pause() (the action keeper sends) stops it, because every
// entry point that moves value is blocked while paused.
// The constructor's guardian may name more guardians (addGuardian), so
// that the tests can run two keepers with different keys on one vault;
// pause() of a paused vault reverts ("already paused"), as OpenZeppelin's
// Pausable does, so a second guardian's late pause lands as a revert and
// never as a second Paused event.
// Nothing here guards real value.
pragma solidity ^0.8.20;

interface IErc20 {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
    function balanceOf(address who) external view returns (uint256);
}

contract Vault {
    event Deposited(address indexed who, address indexed asset, uint256 amount);
    event Withdrawn(address indexed who, uint256 amount);
    event TokenWithdrawn(address indexed who, uint256 amount);
    event Paused(address indexed by);
    event GuardianAdded(address indexed who);
    event EmergencyWithdrawn(address indexed token, address indexed to, uint256 eth, uint256 tokens);

    address public immutable guardian;
    // The ERC-20 depositToken() takes; emergencyWithdraw() drains any token.
    address public immutable token;
    bool private paused_;
    mapping(address => uint256) public deposits;       // ETH, per depositor
    mapping(address => uint256) public tokenDeposits;  // `token`, per depositor
    // Who may pause: `guardian` and those it added.  Declared last so that
    // paused_ stays in storage slot 0, which the tests write to unpause.
    mapping(address => bool) public isGuardian;

    constructor(address guardian_, address token_) payable {
        require(guardian_ != address(0), "guardian");
        guardian = guardian_;
        token = token_;
        isGuardian[guardian_] = true;
        if (msg.value > 0) {
            deposits[msg.sender] += msg.value;
            emit Deposited(msg.sender, address(0), msg.value);
        }
    }

    modifier whenNotPaused() {
        require(!paused_, "paused");
        _;
    }

    function paused() external view returns (bool) {
        return paused_;
    }

    function pause() external {
        require(isGuardian[msg.sender], "not guardian");
        require(!paused_, "already paused");
        paused_ = true;
        emit Paused(msg.sender);
    }

    // Only the constructor's guardian adds guardians; none is ever removed.
    function addGuardian(address who) external {
        require(msg.sender == guardian, "not guardian");
        require(who != address(0), "guardian");
        isGuardian[who] = true;
        emit GuardianAdded(who);
    }

    function deposit() external payable whenNotPaused {
        deposits[msg.sender] += msg.value;
        emit Deposited(msg.sender, address(0), msg.value);
    }

    // Pulls `amount` of `token`: approve the vault first.
    function depositToken(uint256 amount) external whenNotPaused {
        require(IErc20(token).transferFrom(msg.sender, address(this), amount), "transferFrom");
        tokenDeposits[msg.sender] += amount;
        emit Deposited(msg.sender, token, amount);
    }

    // Withdraw part or all of one's own ETH deposit.
    function withdraw(uint256 amount) external whenNotPaused {
        require(deposits[msg.sender] >= amount, "deposit");
        deposits[msg.sender] -= amount;
        (bool ok, ) = payable(msg.sender).call{value: amount}("");
        require(ok, "send");
        emit Withdrawn(msg.sender, amount);
    }

    // withdraw() for `token`: part or all of one's own token deposit.
    function withdrawToken(uint256 amount) external whenNotPaused {
        require(tokenDeposits[msg.sender] >= amount, "deposit");
        tokenDeposits[msg.sender] -= amount;
        require(IErc20(token).transfer(msg.sender, amount), "transfer");
        emit TokenWithdrawn(msg.sender, amount);
    }

    // THE BUG: meant for the guardian, but nobody checks msg.sender.
    function emergencyWithdraw(address tok, address payable to) external whenNotPaused {
        uint256 eth = address(this).balance;
        uint256 bal = tok == address(0) ? 0 : IErc20(tok).balanceOf(address(this));
        if (bal > 0)
            require(IErc20(tok).transfer(to, bal), "transfer");
        (bool ok, ) = to.call{value: eth}("");
        require(ok, "send");
        emit EmergencyWithdrawn(tok, to, eth, bal);
    }
}

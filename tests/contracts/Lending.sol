// SPDX-License-Identifier: MIT
// A small but complete lending pool for the end-to-end tests of the
// liquidation trigger: ETH collateral, debt in one ERC-20 (tests/contracts/
// Erc20.sol), an owner-set oracle price, and liquidation with a close
// factor and a bonus, as Aave and Compound do it in essence.
//
//   price            debt-token units per ETH, scaled 1e18 (setPrice)
//   healthFactor(a)  collateral * price * LT / 1e18 / debt, scaled 1e18
//                    (type(uint256).max without debt); liquidatable < 1e18
//   liquidate(a, x)  repays x <= debt * CLOSE_FACTOR_PCT / 100 of a's debt
//                    with the caller's tokens and pays the caller collateral
//                    worth x * (1 + BONUS) at the oracle price
//
// Nothing here guards real value: the owner sets the price at will.
pragma solidity ^0.8.20;

interface IErc20 {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

contract Lending {
    event Deposit(address indexed account, uint256 amount);
    event Withdraw(address indexed account, uint256 amount);
    event Borrow(address indexed account, uint256 amount);
    event Repay(address indexed account, uint256 amount);
    event Liquidate(address indexed account, address indexed liquidator, uint256 repaid, uint256 seized);
    event Price(uint256 price);

    uint256 public constant LT_PCT = 80;            // liquidation threshold
    uint256 public constant CLOSE_FACTOR_PCT = 50;  // of the debt per liquidation
    uint256 public constant BONUS_PCT = 5;          // collateral bonus to the liquidator

    address public owner;
    IErc20 public immutable debtToken;
    uint256 public price;
    mapping(address => uint256) public collateralOf;
    mapping(address => uint256) public debtOf;

    constructor(address token, uint256 price_) {
        owner = msg.sender;
        debtToken = IErc20(token);
        price = price_;
        emit Price(price_);
    }

    function setPrice(uint256 price_) external {
        require(msg.sender == owner, "owner");
        require(price_ > 0, "price");
        price = price_;
        emit Price(price_);
    }

    function healthFactor(address account) public view returns (uint256) {
        uint256 debt = debtOf[account];
        if (debt == 0)
            return type(uint256).max;
        return collateralOf[account] * price / 1e18 * LT_PCT / 100 * 1e18 / debt;
    }

    function liquidatable(address account) external view returns (bool) {
        return debtOf[account] > 0 && healthFactor(account) < 1e18;
    }

    function deposit() external payable {
        require(msg.value > 0, "amount");
        collateralOf[msg.sender] += msg.value;
        emit Deposit(msg.sender, msg.value);
    }

    function withdraw(uint256 amount) external {
        collateralOf[msg.sender] -= amount;
        require(healthFactor(msg.sender) >= 1e18, "unhealthy");
        emit Withdraw(msg.sender, amount);
        (bool ok, ) = msg.sender.call{value: amount}("");
        require(ok, "send");
    }

    function borrow(uint256 amount) external {
        require(amount > 0, "amount");
        debtOf[msg.sender] += amount;
        require(healthFactor(msg.sender) >= 1e18, "unhealthy");
        emit Borrow(msg.sender, amount);
        require(debtToken.transfer(msg.sender, amount), "transfer");
    }

    function repay(uint256 amount) external {
        debtOf[msg.sender] -= amount;
        emit Repay(msg.sender, amount);
        require(debtToken.transferFrom(msg.sender, address(this), amount), "transferFrom");
    }

    function liquidate(address account, uint256 amount) external {
        require(healthFactor(account) < 1e18, "healthy");
        require(amount > 0 && amount <= debtOf[account] * CLOSE_FACTOR_PCT / 100, "close factor");
        uint256 seized = amount * (100 + BONUS_PCT) / 100 * 1e18 / price;
        if (seized > collateralOf[account])
            seized = collateralOf[account];
        debtOf[account] -= amount;
        collateralOf[account] -= seized;
        emit Liquidate(account, msg.sender, amount, seized);
        require(debtToken.transferFrom(msg.sender, address(this), amount), "transferFrom");
        (bool ok, ) = msg.sender.call{value: seized}("");
        require(ok, "send");
    }
}

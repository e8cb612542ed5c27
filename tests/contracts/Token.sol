// SPDX-License-Identifier: MIT
// A minimal ERC-20 for keeper's node tests (tests/test_node.c): enough to
// emit the standard Transfer(address,address,uint256) event from and to a
// watched address.  The deployer receives the whole supply.  Not a token
// for any other use: no allowances, no metadata.
pragma solidity ^0.8.20;

contract Token {
    event Transfer(address indexed from, address indexed to, uint256 value);

    mapping(address => uint256) public balanceOf;

    constructor() {
        balanceOf[msg.sender] = 1e24;
        emit Transfer(address(0), msg.sender, 1e24);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        require(balanceOf[msg.sender] >= value, "balance");
        balanceOf[msg.sender] -= value;
        balanceOf[to] += value;
        emit Transfer(msg.sender, to, value);
        return true;
    }
}
